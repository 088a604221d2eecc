"""The mlops-platform CrossGuard pack: `pulumi preview --policy-pack policy --stack <s>`.

Only constructs the PolicyPack (which starts a server and blocks); the rules live in mlops.policy
and are tested there. Never import this module from tests.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo's mlops package

from pulumi_policy import PolicyPack

from mlops.policy.pack import pack_arguments

PolicyPack(**pack_arguments())
