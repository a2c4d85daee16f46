"""`python app.py` from a clone, as before the app moved into the package: the same as `refundbot serve`
(`python app.py sandbox` as `refundbot sandbox`, and so on for every command)."""

import sys

from bot.cli import main

if __name__ == "__main__":
    main(sys.argv[1:] or ["serve"])
