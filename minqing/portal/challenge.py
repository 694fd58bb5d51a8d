"""A bot check that needs no outside service: a small sum drawn as a noisy picture by Pillow.

The answer never leaves the server: it is kept in the visitor's session (database-backed, so every
web worker sees it), under a random token that the form carries. A challenge is good once, for
CHALLENGE_TTL, and only after MIN_FILL_SECONDS (a script that posts the instant it reads the form is
not a person typing a demand). Tests read the answer from the session, as a server-side reader would;
there is no setting that turns the check off."""

import io
import secrets
import time

from django.utils.translation import gettext as _
from PIL import Image, ImageDraw, ImageFont

from minqing.core.errors import ApplicationError

SESSION_KEY = "portal_challenges"
CHALLENGE_TTL = 15 * 60  # seconds: long enough to type a demand on a phone
MIN_FILL_SECONDS = 3
MAX_PENDING = 5  # a visitor with several tabs open; older ones are dropped


def challenge_new(request) -> str:
    """A new sum for this visitor; returns the token the form and the image URL carry."""
    now = time.time()
    pending = {
        token: entry
        for token, entry in request.session.get(SESSION_KEY, {}).items()
        if now - entry["at"] < CHALLENGE_TTL
    }
    pending = dict(sorted(pending.items(), key=lambda item: item[1]["at"])[-(MAX_PENDING - 1) :])
    a, b = secrets.randbelow(9) + 1, secrets.randbelow(9) + 1
    token = secrets.token_urlsafe(16)
    pending[token] = {"question": f"{a} + {b} = ?", "answer": str(a + b), "at": now}
    request.session[SESSION_KEY] = pending
    return token


def challenge_image(request, token: str) -> bytes | None:
    """The PNG of a pending challenge, or None for an unknown or used token."""
    entry = request.session.get(SESSION_KEY, {}).get(token)
    if entry is None:
        return None
    rng = secrets.SystemRandom()
    image = Image.new("RGB", (180, 60), (248, 248, 244))
    draw = ImageDraw.Draw(image)
    for _i in range(6):  # lines under the text, so the digits are not clean blobs
        draw.line(
            [(rng.randrange(180), rng.randrange(60)), (rng.randrange(180), rng.randrange(60))],
            fill=(rng.randrange(120, 200), rng.randrange(120, 200), rng.randrange(120, 200)),
            width=2,
        )
    font = ImageFont.load_default(size=30)
    x = 12
    for char in entry["question"]:
        draw.text((x, 12 + rng.randrange(-5, 6)), char, font=font, fill=(rng.randrange(90), 40, rng.randrange(90)))
        x += 20 if char != " " else 8
    for _i in range(150):
        draw.point((rng.randrange(180), rng.randrange(60)), fill=(rng.randrange(256),) * 3)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def challenge_check(request, token: str, answer: str) -> None:
    """Use up the challenge; an ApplicationError on the answer field unless it was right, in time and
    not too fast. A wrong answer also spends it: every try costs a new picture."""
    pending = request.session.get(SESSION_KEY, {})
    entry = pending.pop(token, None) if token else None
    request.session[SESSION_KEY] = pending
    now = time.time()
    if entry is None or now - entry["at"] >= CHALLENGE_TTL:
        raise ApplicationError(_("验证题已过期，请重新计算新的题目。"), field="answer", code="challenge")
    if not secrets.compare_digest(str(answer or "").strip(), entry["answer"]):
        raise ApplicationError(_("验证题答案不正确，请重新计算新的题目。"), field="answer", code="challenge")
    if now - entry["at"] < MIN_FILL_SECONDS:
        raise ApplicationError(_("提交太快了，请稍后再提交。"), field="answer", code="too_fast")


def challenge_discard(request, token: str) -> None:
    pending = request.session.get(SESSION_KEY, {})
    pending.pop(token, None)
    request.session[SESSION_KEY] = pending
