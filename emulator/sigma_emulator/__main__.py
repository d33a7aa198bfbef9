"""``python -m sigma_emulator``: run the command line."""

from .cli import main

main()
