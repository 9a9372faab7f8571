"""The original project's scripts beside these tests are data, not tests of this suite."""

collect_ignore_glob = ["original/*"]
