"""Device Bound Session Credentials (W3C webappsec-dbsc): a signed-in session bound to a key on the device.

After sign-in a response offers registration (`Secure-Session-Registration`).
A browser that supports DBSC makes a key pair, signs our challenge with it and
posts the proof (`Secure-Session-Response`: a JWT whose header carries the
public JWK). The server keeps only that public key with the session and sets a
short-lived bound cookie. From then on the session is accepted, for the URLs
in its declared scope, only with a valid bound cookie; the browser renews it at
the refresh endpoint by signing a `Secure-Session-Challenge` (sent ahead of
time with each bound cookie, or on a 403). The private key never leaves the device, so
a copied cookie jar stops working on any other machine within
DBSC_BOUND_COOKIE_AGE. Sessions that never registered keep today's rules.

Signatures are checked by PyJWT on `cryptography`; nothing here is crypto of its own.
"""

import base64
import hashlib
import json
import re
import secrets
from datetime import timedelta
from functools import cache

import http_sfv
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core import signing
from django.urls import reverse
from django.utils import timezone
from jwt.algorithms import get_default_algorithms

from accounts.models import BindingChallenge
from accounts.monitoring import audit

ALGORITHMS = ("ES256", "RS256")
REGISTRATION, REFRESH = BindingChallenge.Purpose.REGISTRATION, BindingChallenge.Purpose.REFRESH
PROOF_TYPE = "dbsc+jwt"
CHALLENGE_AGE = 120  # seconds: a browser signs within moments ("new challenges should have a short lifetime")
# A bound cookie is accepted this long past its Max-Age: the browser starts
# counting when the answer reaches it, and a request it sends at the last
# moment still has to travel here. Under a second, so a cookie the browser no
# longer sends is never taken.
BOUND_COOKIE_ALLOWANCE = 0.5  # seconds
# Chrome sends Sec-Secure-Session-Id bare: the id's own characters, which are an
# sf-token only when the first one is a letter. Public ids are base64url.
BARE_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# The scope the session instructions declare (draft § Identify if a URL is in
# scope): this origin only, without the static files, which need no session.
SCOPE = {"include_site": False, "scope_specification": [{"type": "exclude", "path": "/static"}]}
MIN_RSA_BITS = 2048
COOKIE_SALT = "accounts.sessions.dbsc.bound-cookie"
# RFC 7638: the members of a public JWK that its thumbprint covers.
THUMBPRINT_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n")}

DEVICE_BINDING = "device binding"  # the reason recorded with session_hijack_suspected

REGISTRATION_HEADER = "Secure-Session-Registration"
CHALLENGE_HEADER = "Secure-Session-Challenge"
RESPONSE_HEADER = "Secure-Session-Response"
SESSION_ID_HEADER = "Sec-Secure-Session-Id"

# Why a registration or refresh was refused, as the audit trail records it.
MALFORMED = "malformed proof"
BAD_KEY = "unsupported key"
BAD_SIGNATURE = "bad signature"
STALE_CHALLENGE = "unknown, used or expired challenge"
NOT_SIGNED_IN = "not signed in"
ALREADY_BOUND = "already bound"
UNKNOWN_SESSION = "unknown session"
DISABLED = "disabled"
NO_PROOF = "no proof"  # not a failure: the browser asks for a challenge, then signs it


class Refused(Exception):
    """A registration or refresh the server turns down, with the status to answer."""

    def __init__(self, status: int, reason: str, *, challenge: str | None = None):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.challenge = challenge  # a fresh refresh challenge to send along (403)


@cache
def refresh_path() -> str:
    return reverse("accounts:dbsc_refresh")


# -- challenges ----------------------------------------------------------------


def _issue_challenge(public_id: str, purpose: str, *, age: float = CHALLENGE_AGE) -> str:
    now = timezone.now()
    BindingChallenge.objects.filter(expires_at__lte=now).delete()  # keeps the table to the live challenges
    value = secrets.token_urlsafe(32)
    BindingChallenge.objects.create(
        value=value, session_public_id=public_id, purpose=purpose, expires_at=now + timedelta(seconds=age)
    )
    return value


def next_challenge(public_id: str) -> str:
    """A refresh challenge sent ahead of time, with a bound cookie: the browser signs it when that cookie ends.

    It lives as long as the cookie it comes with, and then the usual two
    minutes to sign it; single-use like every challenge.
    """
    return _issue_challenge(public_id, REFRESH, age=settings.DBSC_BOUND_COOKIE_AGE + CHALLENGE_AGE)


def _consume_challenge(value, public_id: str, purpose: str) -> bool:
    """Use up a challenge this session was issued; False if unknown, already used or expired."""
    if not isinstance(value, str):
        return False
    # One DELETE decides: of two requests replaying the same proof, only one deletes the row.
    deleted, _ = BindingChallenge.objects.filter(
        value=value, session_public_id=public_id, purpose=purpose, expires_at__gt=timezone.now()
    ).delete()
    return deleted == 1


# -- the offer at sign-in ------------------------------------------------------


def offer_registration(request) -> None:
    """Offer DBSC registration on this response; every sign-in (password, OTP step, passkey) calls this.

    Browsers without DBSC ignore the header. A session already bound keeps its key.
    """
    session = request.session
    if not settings.DBSC_ENABLED or session.device_key is not None or session.public_id is None:
        return
    challenge = _issue_challenge(session.public_id, REGISTRATION)
    path = reverse("accounts:dbsc_register")
    request.dbsc_registration = f'({" ".join(ALGORITHMS)});path="{path}";challenge="{challenge}"'


def add_registration_offer(request, response) -> None:
    """Send the offer made while handling this request (called by the session middleware)."""
    offer = getattr(request, "dbsc_registration", None)
    if offer:
        response.headers[REGISTRATION_HEADER] = offer


# -- proofs --------------------------------------------------------------------


def _header_string(request, name: str) -> str | None:
    """Read a structured-field string (or a bare token: a JWT is one) from a request header."""
    raw = request.headers.get(name)
    if raw is None:
        return None
    return _sf_string(raw)


def _session_id(request) -> str | None:
    """Read Sec-Secure-Session-Id: the quoted sf-string the draft names, or the bare id Chrome sends."""
    raw = request.headers.get(SESSION_ID_HEADER)
    if raw is None:
        return None
    raw = raw.strip(" \t")
    if BARE_SESSION_ID.fullmatch(raw):
        return raw
    return _sf_string(raw)


def _sf_string(raw: str) -> str:
    item = http_sfv.Item()
    try:
        item.parse(raw.encode("latin-1"))
    except (ValueError, UnicodeEncodeError):
        raise Refused(400, MALFORMED) from None
    if not isinstance(item.value, str):  # http_sfv.Token is a str too
        raise Refused(400, MALFORMED)
    return str(item.value)


def _checked_key(jwk: dict, alg: str):
    """Load a public JWK for `alg`; refuse private keys, other curves and short RSA keys."""
    try:
        key = jwt.PyJWK(jwk, algorithm=alg).key
    except (jwt.PyJWTError, ValueError, TypeError, KeyError):
        raise Refused(400, BAD_KEY) from None
    if alg == "ES256":
        ok = isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1)
    else:
        ok = isinstance(key, rsa.RSAPublicKey) and key.key_size >= MIN_RSA_BITS
    if not ok:
        raise Refused(400, BAD_KEY)
    return key


def _verify(token: str, *, registered: dict | None) -> tuple[dict, dict]:
    """Check a DBSC proof's form and signature; return its claims and the public JWK that signed it.

    At registration the key comes inside the proof's header; at refresh it is
    the key the session registered, and the header must not carry one.
    """
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise Refused(400, MALFORMED) from None
    alg = header.get("alg")
    if header.get("typ") != PROOF_TYPE or alg not in ALGORITHMS:
        raise Refused(400, MALFORMED)
    if registered is None:
        if not isinstance(header.get("jwk"), dict):
            raise Refused(400, MALFORMED)
        key = _checked_key(header["jwk"], alg)
    else:
        if "jwk" in header or alg != registered.get("alg"):
            raise Refused(400, MALFORMED)
        key = _checked_key(registered, alg)
    try:
        # `aud` and `iat` are informational in DBSC (browsers put the endpoint
        # and a time there); the single-use challenge in `jti` is what counts.
        claims = jwt.decode(
            token, key, algorithms=[alg], options={"require": ["jti"], "verify_aud": False, "verify_iat": False}
        )
    except jwt.PyJWTError:
        raise Refused(401, BAD_SIGNATURE) from None
    public_jwk = {**get_default_algorithms()[alg].to_jwk(key, as_dict=True), "alg": alg}
    public_jwk.pop("key_ops", None)
    return claims, public_jwk


def thumbprint(jwk: dict) -> str:
    """The key's RFC 7638 thumbprint (SHA-256, base64url), as pages and the audit trail name it."""
    members = {name: jwk[name] for name in THUMBPRINT_MEMBERS[jwk["kty"]]}
    digest = hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


# -- the bound cookie ----------------------------------------------------------


def _signer():
    return signing.Signer(salt=COOKIE_SALT)


def set_bound_cookie(response, public_id: str) -> None:
    """Set a new bound cookie, and send the challenge for the refresh that will replace it."""
    # The issue time to the millisecond: whole seconds would end the cookie up to one early.
    issued = f"{timezone.now().timestamp():.3f}"
    response.set_cookie(
        settings.DBSC_COOKIE_NAME,
        _signer().sign(f"{public_id}:{issued}"),
        max_age=settings.DBSC_BOUND_COOKIE_AGE,
        path="/",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite=settings.SESSION_COOKIE_SAMESITE,
    )
    response.headers[CHALLENGE_HEADER] = challenge_header(next_challenge(public_id), public_id)


def _bound_cookie_valid(value: str, public_id: str) -> bool:
    # The server checks the age itself: the cookie's own expiry decides nothing.
    try:
        bound_to, issued = _signer().unsign(value).rsplit(":", 1)
    except (signing.BadSignature, ValueError):  # forged, or garbage
        return False
    # A cookie set before the milliseconds were added carries TimestampSigner's whole seconds in base 62.
    issued = float(issued) if "." in issued else signing.b62_decode(issued)
    age = timezone.now().timestamp() - issued
    return bound_to == public_id and age <= settings.DBSC_BOUND_COOKIE_AGE + BOUND_COOKIE_ALLOWANCE


def in_scope(request) -> bool:
    """Whether a request is in the scope the instructions declare: the browser refreshes before those only.

    The draft's rules for this origin: the refresh URL is out; the last rule
    whose path is the request's path, or a parent of it, decides; else in.
    """
    path = request.path
    if path == refresh_path():
        return False
    for rule in reversed(SCOPE["scope_specification"]):
        pattern = rule["path"]
        if path == pattern or path.startswith(pattern if pattern.endswith("/") else f"{pattern}/"):
            return rule["type"] == "include"
    return True


def unproven(request, session) -> bool:
    """Whether a bound session came without a valid bound cookie of its own (the refresh endpoint excepted).

    Costs nothing for a session without a key: one attribute test.
    """
    if session.device_key is None or not settings.DBSC_ENABLED or request.path == refresh_path():
        return False
    value = request.COOKIES.get(settings.DBSC_COOKIE_NAME)
    if value is None:
        # Requests already in flight when the key was registered carry no cookie yet.
        in_flight = timezone.now() < session.device_bound_at + timedelta(seconds=settings.SESSION_ROTATE_GRACE)
        return not in_flight
    return not _bound_cookie_valid(value, session.public_id)


def instructions(request) -> dict:
    """The spec's session instructions: identifier, refresh URL, scope and the bound cookie."""
    attributes = f"Path=/; HttpOnly; SameSite={settings.SESSION_COOKIE_SAMESITE}"
    if settings.SESSION_COOKIE_SECURE:
        attributes = f"{attributes}; Secure"
    return {
        # The public id stays the same across key rotations, as the binding does.
        "session_identifier": request.session.public_id,
        "refresh_url": refresh_path(),
        "scope": SCOPE,
        "credentials": [{"type": "cookie", "name": settings.DBSC_COOKIE_NAME, "attributes": attributes}],
    }


# -- the two endpoints' flows --------------------------------------------------


def _record_failure(request, step: str, refused: Refused) -> None:
    audit.record("session_binding_failed", request=request, step=step, reason=refused.reason)


def register(request) -> dict:
    """Bind the request's signed-in session to the key in its proof; return the session instructions."""
    session = request.session
    try:
        if not settings.DBSC_ENABLED:
            raise Refused(404, DISABLED)
        if session.get(SESSION_KEY) is None or session.public_id is None:
            raise Refused(403, NOT_SIGNED_IN)
        if session.device_key is not None:
            # A registered key is never replaced: whoever holds a stolen cookie
            # must not rebind the session to a device of their own.
            raise Refused(403, ALREADY_BOUND)
        token = _header_string(request, RESPONSE_HEADER)
        if token is None:
            raise Refused(400, MALFORMED)
        claims, public_jwk = _verify(token, registered=None)
        if not _consume_challenge(claims["jti"], session.public_id, REGISTRATION):
            raise Refused(403, STALE_CHALLENGE)
    except Refused as refused:
        _record_failure(request, "registration", refused)
        raise
    session.bind_device(public_jwk)
    audit.record("session_device_bound", request=request, thumbprint=thumbprint(public_jwk), alg=public_jwk["alg"])
    return instructions(request)


def refresh(request) -> dict:
    """Check the proof of a bound session's key; return the instructions (the caller sets a new bound cookie).

    Without a proof the answer is a 403 with a fresh challenge, as the spec
    has it; the browser signs it and asks again.
    """
    session = request.session
    try:
        session_id = _session_id(request)
        bound = settings.DBSC_ENABLED and session.get(SESSION_KEY) is not None and session.device_key is not None
        if not bound or session_id != session.public_id:
            raise Refused(404, UNKNOWN_SESSION)
        token = _header_string(request, RESPONSE_HEADER)
        if token is None:
            raise Refused(403, NO_PROOF, challenge=_issue_challenge(session.public_id, REFRESH))
        claims, _ = _verify(token, registered=session.device_key)
        if not _consume_challenge(claims["jti"], session.public_id, REFRESH):
            # Perhaps signed just before a newer challenge went out: offer that one.
            new = _issue_challenge(session.public_id, REFRESH)
            raise Refused(403, STALE_CHALLENGE, challenge=new)
    except Refused as refused:
        if refused.reason != NO_PROOF:
            _record_failure(request, "refresh", refused)
        raise
    return instructions(request)


def challenge_header(challenge: str, public_id: str) -> str:
    # Both values are URL-safe base64, fit for a structured-field string as they are.
    return f'"{challenge}";id="{public_id}"'
