"""The five routes to the same tiny JSON body, shared by the in-process and HTTP benchmarks."""

from dataclasses import dataclass

PLAIN = "/bench/plain/"
OURS = "/api/bench/ping/"  # under /api/, so ApiTokenMiddleware authenticates it
DRF_PLAIN = "/bench/drf/plain/"
DRF_TOKEN = "/bench/drf/token/"
KNOX_TOKEN = "/bench/knox/token/"


@dataclass(frozen=True)
class Variant:
    key: str
    label: str
    path: str
    credential: str | None  # the AuthFixtures field holding this scheme's token

    def authorization(self, fixtures):
        if self.credential is None:
            return None
        return f"Token {getattr(fixtures, self.credential)}"


VARIANTS = [
    Variant("a", "Django view, no auth", PLAIN, None),
    Variant("b", "our ApiTokenMiddleware", OURS, "ours"),
    Variant("c0", "DRF view, no auth", DRF_PLAIN, None),
    Variant("c", "DRF TokenAuthentication", DRF_TOKEN, "drf"),
    Variant("d", "knox TokenAuthentication", KNOX_TOKEN, "knox"),
]
