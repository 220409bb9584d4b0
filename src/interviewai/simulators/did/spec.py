"""What the D-ID simulator answers to: its constants, presenters and faults, and D-ID's error envelope.

Faults (``set_fault(name, times=N)`` switches at run time; ``times`` heals it after N uses):

====================  =================================================================================
``auth401``           API requests: 401 ``{"kind":"AuthorizationError","description":"user unauthenticated"}``
``auth401-gateway``   API requests: 401 ``{"message":"Unauthorized"}``
``forbidden403``      API requests: 403 ``{"kind":"PermissionError","description":"user has no permission
                      for clips:write"}``
``forbidden403-deny`` API requests: 403 ``{"Message":"User is not authorized to access this resource with
                      an explicit deny"}``
``no_credits402``     ``POST /clips``: 402 ``InsufficientCreditsError``; ``/credits`` shows none remaining
``rate_limit429``     API requests: 429 ``{"message":"Too Many Requests"}`` with ``Retry-After``
``rate_limit429-bare`` the same without ``Retry-After``
``moderation451``     ``POST /clips``: 451 ``TextModerationError``/``AudioModerationError``
``rejected``          clips created now end ``rejected`` (moderation after the fact; refunded)
``server500``         API requests: 500 ``{"kind":"InternalServerError","description":"internal server error"}``
``gateway502``        API requests: 502 with an HTML page (a load balancer's)
``gateway504``        API requests: 504 with an HTML page
``timeout``           API requests are never answered (until the simulator stops)
``stuck``             clips created now stay ``started`` forever
``error``             clips created now end ``error`` (``UnknownError``; refunded)
``malformed``         API answers keep their status but their JSON is cut in half
``expired``           result and audio links handed out now have already expired
====================  =================================================================================

``PUT /_simulator/fault`` with ``{"fault": name, "times": N, "retry_after_s": S}`` does the same over HTTP,
for a developer running the app against ``interviewai did-sim``.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import string
from typing import Any

# base64("developer@interviewai.local") + ":" + secret, the shape of a real D-ID key.
DEFAULT_API_KEY = "ZGV2ZWxvcGVyQGludGVydmlld2FpLmxvY2Fs:did-simulator-secret"
AMBER_ID = "v2_public_Amber@0zSz8kflCN"
OWNER_ID = "google-oauth2|104729663412954736127"
CLIPS_BUCKET = "d-id-clips-prod"
AUDIOS_BUCKET = "d-id-audios-prod"
LINK_TTL_S = 86_400.0
UPLOAD_SAMPLE_RATE = 16_000
FPS = 25
MAX_AUDIO_BYTES = 15 * 1024 * 1024
MODERATION_DESCRIPTION = (
    "Automatic content moderation - contact support if you would like to submit for manual review"
)
ACCESS_KEY_ID = "AKIAYDIDSIMULATOR000"
ID_ALPHABET = string.ascii_letters + string.digits + "_-"
AUDIO_URL = re.compile(r"^(https|s3)://\S+\.(m4a|flac|mp3|mp4|wav)(\?\S*)?$", re.IGNORECASE)
HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
CLIP_FIELDS = frozenset(
    {
        "presenter_id",
        "driver_id",
        "script",
        "config",
        "presenter_config",
        "background",
        "user_data",
        "name",
        "webhook",
        "result_url",
    }
)
RESULT_FORMATS = {"mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm"}
GATEWAY_PAGES = {
    502: "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n",
    504: "<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body>\r\n"
    "<center><h1>504 Gateway Time-out</h1></center>\r\n</body>\r\n</html>\r\n",
}


class DidFault(enum.Enum):
    """How the simulator misbehaves (see the module docstring); NONE answers faithfully."""

    NONE = "none"
    AUTH_401 = "auth401"
    AUTH_401_GATEWAY = "auth401-gateway"
    FORBIDDEN_403 = "forbidden403"
    FORBIDDEN_403_DENY = "forbidden403-deny"
    NO_CREDITS_402 = "no_credits402"
    RATE_LIMIT_429 = "rate_limit429"
    RATE_LIMIT_429_BARE = "rate_limit429-bare"
    MODERATION_451 = "moderation451"
    REJECTED = "rejected"
    SERVER_500 = "server500"
    GATEWAY_502 = "gateway502"
    GATEWAY_504 = "gateway504"
    TIMEOUT = "timeout"
    STUCK = "stuck"
    ERROR = "error"
    MALFORMED = "malformed"
    EXPIRED = "expired"


# Faults that answer any API request before it is handled.
REQUEST_FAULTS = frozenset(
    {
        DidFault.AUTH_401,
        DidFault.AUTH_401_GATEWAY,
        DidFault.FORBIDDEN_403,
        DidFault.FORBIDDEN_403_DENY,
        DidFault.RATE_LIMIT_429,
        DidFault.RATE_LIMIT_429_BARE,
        DidFault.SERVER_500,
        DidFault.GATEWAY_502,
        DidFault.GATEWAY_504,
        DidFault.TIMEOUT,
    }
)
# Faults decided when a clip is created: how it ends.
CLIP_FAULTS = frozenset({DidFault.STUCK, DidFault.ERROR, DidFault.REJECTED})


@dataclasses.dataclass(frozen=True)
class Mouth:
    """Where the presenter image's mouth is (pixels), so the video can open it with the audio."""

    center_x: int
    center_y: int
    half_width: int
    max_half_height: int


BUNDLED_AVATAR_MOUTH = Mouth(center_x=256, center_y=299, half_width=30, max_half_height=13)


@dataclasses.dataclass(frozen=True)
class SimulatedPresenter:
    """A presenter of the simulated catalog, with D-ID's id, name, gender and driver."""

    presenter_id: str
    name: str
    gender: str
    driver_id: str

    @property
    def short_id(self) -> str:
        """The part of the presenter id after "@", as D-ID's URLs use it."""
        return self.presenter_id.rsplit("@", 1)[-1]


PRESENTERS = (
    SimulatedPresenter(AMBER_ID, "Amber", "female", "OUM7xZOuD5"),
    SimulatedPresenter("v2_public_amber@Y5K02DLS4m", "amber", "female", "9o3E6z8MPD"),
    SimulatedPresenter("v2_public_Adam@0GLJgELXjc", "Adam", "male", "Ck1XhV8ZzO"),
)


class ApiError(Exception):
    """An error answer in D-ID's envelope, raised from deep inside a handler."""

    def __init__(self, status: int, kind: str, description: str, details: Any = None) -> None:
        super().__init__(f"{status} {kind}: {description}")
        self.status = status
        self.kind = kind
        self.description = description
        self.details = details
