"""Remedy's analytics code (events, dashboard, drift features, simulator) is the template's: the
analytics tests import it from this checkout's ``templates/remedy``."""

from mlops.local.remedy import remedy_on_path

remedy_on_path()
