"""`mlops rehearse`: every runtime flow of a use case's estate, evaluated offline the way AWS
evaluates it (permissions, keys, trust, network). See docs/rehearsal.md."""
