"""The production settings, with static files collected into the run's own folder
(LOAD_STATIC_ROOT) rather than the checkout's staticfiles/, which every test client of the
suite would then scan: what testbed's gunicorns serve."""

import os

from portal.settings import *  # noqa: F403

STATIC_ROOT = os.environ["LOAD_STATIC_ROOT"]
