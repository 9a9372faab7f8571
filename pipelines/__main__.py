"""``python -m pipelines``: the same as the ``pipelines`` command."""

from .cli import main

if __name__ == "__main__":
    main()
