"""Hearth driven by Mastodon.py, as an app would drive it.

Run by the e2e test `client_libraries` (tests/e2e/client_libraries.rs), which starts the
instances and answers each "SETTLE" line on stdout, once every delivery between the instances
has arrived, with a line on stdin. Each check prints "OK <what>"; any failure raises.

Arguments: BASE_URL HANDLE PASSWORD GROUP_ACCT PERSON_ACCT
"""

import base64
import hashlib
import html.parser
import io
import queue
import secrets
import sys
import urllib.parse

import requests
from mastodon import Mastodon, StreamListener
from PIL import Image

BASE, HANDLE, PASSWORD, GROUP, PERSON = sys.argv[1:6]
REDIRECT = "org.hearth.test://oauth"
SCOPES = ["read", "write", "follow", "push"]


def ok(what):
    print("OK", what, flush=True)


def settle():
    """Asks the test to run every pending delivery between the instances."""
    print("SETTLE", flush=True)
    if sys.stdin.readline() == "":
        raise SystemExit("the test went away")


class HiddenInputs(html.parser.HTMLParser):
    """The hidden fields of the consent page's form, as a browser would send them back."""

    def __init__(self):
        super().__init__()
        self.fields = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("type") == "hidden":
            self.fields[attrs["name"]] = attrs.get("value", "")


def approve(browser, url):
    """Opens the consent page, signs in if asked, allows; returns the code from the redirect."""
    page = browser.get(url)
    assert page.status_code == 200, page.text
    form = HiddenInputs()
    form.feed(page.text)
    fields = dict(form.fields, decision="approve")
    if 'name="password"' in page.text:
        fields.update(handle=HANDLE, password=PASSWORD)
    answer = browser.post(BASE + "/oauth/authorize", data=fields, allow_redirects=False)
    assert answer.status_code == 303, (answer.status_code, answer.text)
    location = answer.headers["location"]
    assert location.startswith(REDIRECT), location
    query = urllib.parse.parse_qs(urllib.parse.urlparse(location).query)
    return query["code"][0]


def main():
    client_id, client_secret = Mastodon.create_app(
        "Hearth test (Mastodon.py)", api_base_url=BASE, redirect_uris=REDIRECT, scopes=SCOPES
    )
    ok("create_app")
    app = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=BASE)
    browser = requests.Session()

    # The authorization-code flow with PKCE (S256). Mastodon.py builds the URL; it has no PKCE
    # of its own, so the challenge is added to its URL and the verifier sent with the exchange.
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    url = app.auth_request_url(redirect_uris=REDIRECT, scopes=SCOPES, state="s1", allow_http=True)
    url += "&" + urllib.parse.urlencode({"code_challenge": challenge, "code_challenge_method": "S256"})
    code = approve(browser, url)
    token = requests.post(BASE + "/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "client_id": client_id,
        "redirect_uri": REDIRECT, "code_verifier": verifier,
    })
    assert token.status_code == 200, token.text
    ok("authorization code with PKCE")

    # The library's own flow, with the client secret: the browser is signed in by now.
    code = approve(browser, app.auth_request_url(redirect_uris=REDIRECT, scopes=SCOPES, allow_http=True))
    app.log_in(code=code, redirect_uri=REDIRECT, scopes=SCOPES, allow_http=True)
    ok("log_in with a code")

    api = Mastodon(access_token=token.json()["access_token"], api_base_url=BASE)
    me = api.account_verify_credentials()
    assert me.username == HANDLE, me
    ok("account_verify_credentials")
    instance = api.instance()
    assert instance.domain and instance.configuration.statuses.max_characters, instance
    ok("instance")

    group = api.search_v2(GROUP, resolve=True).accounts
    assert len(group) == 1 and group[0].group, group
    relationship = api.account_follow(group[0].id)
    ok("joined the remote group found with resolve=True")
    person = api.search_v2(PERSON, resolve=True).accounts
    assert len(person) == 1 and not person[0].group, person
    api.account_follow(person[0].id)
    settle()
    relationship = api.account_relationships([group[0].id, person[0].id])
    assert all(r.following for r in relationship), relationship
    ok("follows accepted by the other server")

    posted = api.status_post(f"@{GROUP.lstrip('@')} Hello from Mastodon.py", sensitive=False, spoiler_text="")
    assert posted.sensitive is False and posted.account.id == me.id, posted
    ok("posted into the remote group by mentioning it")
    settle()
    home = api.timeline_home()
    assert any((s.reblog or s).uri == posted.uri for s in home), [(s.reblog or s).uri for s in home]
    ok("timeline_home")

    # The person on the other server mentioned this patient before the app signed in.
    mentions = api.notifications(types=["mention"])
    assert any(n.account.acct == PERSON.lstrip("@") and n.status for n in mentions), mentions
    ok("notifications")

    # A photo carrying its GPS position: what Hearth stores and serves carries none.
    photo = Image.new("RGB", (64, 48), (200, 80, 40))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)}
    sent = io.BytesIO()
    photo.save(sent, "JPEG", exif=exif)
    assert Image.open(io.BytesIO(sent.getvalue())).getexif().get_ifd(0x8825), "the photo has GPS"
    media = api.media_post(io.BytesIO(sent.getvalue()), mime_type="image/jpeg",
                           file_name="walk.jpg", description="A walk in the park")
    assert media.type == "image" and media.description == "A walk in the park", media
    with_photo = api.status_post("Today's walk", media_ids=[media])
    assert with_photo.media_attachments[0].id == media.id, with_photo
    served = requests.get(with_photo.media_attachments[0].url)
    assert served.status_code == 200, served.status_code
    kept = Image.open(io.BytesIO(served.content))
    assert kept.size == (64, 48) and not kept.getexif() and b"Exif" not in served.content, kept.getexif()
    ok("media_post without GPS")

    # Live updates: the app's home stream (server-sent events) shows a new post.
    updates, opened = queue.Queue(), queue.Queue()

    class Home(StreamListener):
        def on_update(self, status):
            updates.put(status)

        def handle_heartbeat(self):
            opened.put(True)

    stream = api.stream_user(Home(), run_async=True)
    try:
        opened.get(timeout=15)  # the stream's opening comment: it is listening
        live = api.status_post("Streaming works")
        while True:
            status = updates.get(timeout=15)
            if status.id == live.id:
                break
    finally:
        stream.close()
    ok("stream_user update")
    print("DONE", flush=True)


if __name__ == "__main__":
    main()
