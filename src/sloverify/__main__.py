"""``python -m sloverify``: the same as the ``sloverify`` command."""

from sloverify.cli.main import main

main()
