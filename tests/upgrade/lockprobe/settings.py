from testbed.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.upgrade.lockprobe"]  # noqa: F405
