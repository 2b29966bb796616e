"""The one HTTP client the CLI uses to talk to the controller (Deis Workflow v2 API)."""
from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from slipway_cli import __version__
from slipway_cli.errors import APIError, CLIError, NotLoggedIn, format_detail, reason

USER_AGENT = f"slipway-cli/{__version__}"


def normalize_url(url: str) -> str:
    """`example.com` -> `https://example.com`; strip trailing slashes and a trailing `/v2`."""
    url = url.strip()
    if not url:
        raise CLIError("no controller URL given")
    if "://" not in url:
        host = url.split("/", 1)[0]
        scheme = "http" if host.split(":")[0] in ("localhost", "127.0.0.1", "[::1]") else "https"
        url = f"{scheme}://{url}"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CLIError(f"invalid controller URL {url!r}")
    url = url.rstrip("/")
    if url.endswith("/v2"):
        url = url[:-3]
    return url


def q(segment: str) -> str:
    """Quote one path segment (an app id, a domain, a username...)."""
    return quote(str(segment), safe="@:+")


class Client:
    def __init__(self, url: str, token: str | None = None, ca: str | None = None,
                 timeout: float | None = None, session: requests.Session | None = None):
        self.url = normalize_url(url)
        self.token = token
        self.verify: bool | str = ca if ca else True
        self.connect_timeout = 15.0
        # Deploys (config changes, rollbacks, builds) block until the release serves: allow long reads.
        self.read_timeout = timeout or float(os.environ.get("SLIPWAY_TIMEOUT", "900"))
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.headers["Accept"] = "application/json"

    def __repr__(self) -> str:
        return f"Client(url={self.url!r})"

    # --- low level -----------------------------------------------------------------------------------

    def request(self, method: str, path: str, *, json: Any = None, params: dict | None = None,
                auth: bool = True, expect_json: bool = True) -> Any:
        url = self.url + path
        headers = {}
        if auth:
            if not self.token:
                raise NotLoggedIn("not logged in: run `slipway login URL` first")
            headers["Authorization"] = f"token {self.token}"
        try:
            r = self.session.request(method, url, json=json, params=params, headers=headers,
                                     verify=self.verify, timeout=(self.connect_timeout, self.read_timeout),
                                     allow_redirects=False)
        except requests.exceptions.SSLError as e:
            raise CLIError(f"TLS error talking to {self.url}: {reason(e)}. If the platform uses its own CA, "
                           f"log in with `slipway login {self.url} --ca CA.pem`") from None
        except requests.exceptions.Timeout:
            raise CLIError(f"the controller at {self.url} did not answer in time ({method} {path})") from None
        except requests.exceptions.ConnectionError as e:
            raise CLIError(f"cannot reach the controller at {self.url} ({method} {path}): {reason(e)}") from None
        except requests.exceptions.RequestException as e:
            raise CLIError(f"request to {self.url} failed: {reason(e)}") from None
        return self._handle(r, expect_json)

    def _handle(self, r: requests.Response, expect_json: bool) -> Any:
        if r.status_code >= 400:
            detail = None
            body = None
            try:
                body = r.json()
                # Deis's validation errors: {"<field>": ["<message>"]}, with or without a "detail" line
                detail = body.get("detail", body) if isinstance(body, dict) else body
            except ValueError:
                pass
            if detail is None or detail == "":
                text = (r.text or "").strip()
                detail = text[:300] if text and "<html" not in text.lower() else (r.reason or "request failed")
                detail = f"{r.status_code} {detail}"
            message = format_detail(detail)
            if r.status_code == 401:
                message += " (run `slipway login` again)" if self.token else ""
            raise APIError(message, status=r.status_code, body=body)
        if 300 <= r.status_code < 400:
            raise APIError(f"unexpected redirect ({r.status_code}) to {r.headers.get('Location')}: "
                           f"is {self.url} the controller URL?", status=r.status_code)
        if r.status_code == 204 or not r.content:
            return None
        if not expect_json:
            return r.text
        try:
            return r.json()
        except ValueError:
            raise APIError(f"the server at {self.url} did not answer JSON: is it a Slipway controller?",
                           status=r.status_code) from None

    def get(self, path: str, **kw) -> Any:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw) -> Any:
        return self.request("POST", path, json=body if body is not None else {}, **kw)

    def delete(self, path: str, body: Any = None, **kw) -> Any:
        return self.request("DELETE", path, json=body, **kw)

    def get_list(self, path: str, params: dict | None = None, page_size: int = 1000) -> dict:
        """Fetch every page of a `{count,next,previous,results}` list into one such body."""
        results: list = []
        offset = 0
        count = None
        while True:
            p = dict(params or {}, limit=page_size, offset=offset)
            body = self.get(path, params=p)
            if not isinstance(body, dict) or "results" not in body:
                return body  # not a paginated list: give it back as is
            page = body.get("results") or []
            results.extend(page)
            count = body.get("count", len(results))
            offset += len(page)
            if not page or offset >= count or not body.get("next"):
                break
        return {"count": count if count is not None else len(results), "next": None, "previous": None,
                "results": results}

    # --- auth ----------------------------------------------------------------------------------------

    def register(self, username: str, password: str, email: str | None = None, **extra) -> dict:
        body = {"username": username, "password": password}
        if email:
            body["email"] = email
        body.update({k: v for k, v in extra.items() if v})
        return self.post("/v2/auth/register/", body, auth=False)

    def login(self, username: str, password: str) -> str:
        body = self.post("/v2/auth/login/", {"username": username, "password": password}, auth=False)
        token = body.get("token") if isinstance(body, dict) else None
        if not token:
            raise APIError("the controller answered the login without a token")
        return token

    def whoami(self) -> dict:
        return self.get("/v2/auth/whoami/")

    def passwd(self, new_password: str, password: str | None = None, username: str | None = None) -> Any:
        body = {"new_password": new_password}
        if password is not None:
            body["password"] = password
        if username:
            body["username"] = username
        return self.post("/v2/auth/passwd/", body)

    def regenerate(self, username: str | None = None) -> str:
        body = self.post("/v2/auth/tokens/", {"username": username} if username else {})
        return body.get("token") if isinstance(body, dict) else None

    def cancel(self, username: str | None = None) -> None:
        self.delete("/v2/auth/cancel/", {"username": username} if username else {})

    def users(self) -> dict:
        return self.get_list("/v2/users/")

    # --- apps ----------------------------------------------------------------------------------------

    def apps(self) -> dict:
        return self.get_list("/v2/apps/")

    def app(self, app: str) -> dict:
        return self.get(f"/v2/apps/{q(app)}/")

    def create_app(self, app: str | None = None) -> dict:
        return self.post("/v2/apps/", {"id": app} if app else {})

    def destroy_app(self, app: str) -> None:
        self.delete(f"/v2/apps/{q(app)}/")

    def transfer_app(self, app: str, owner: str) -> dict:
        return self.post(f"/v2/apps/{q(app)}/", {"owner": owner})

    def logs(self, app: str, lines: int | None = None, proc_type: str | None = None) -> str:
        params = {}
        if lines:
            params["log_lines"] = lines
        if proc_type:
            params["type"] = proc_type
        return self.get(f"/v2/apps/{q(app)}/logs/", params=params, expect_json=False) or ""

    def run(self, app: str, command: str) -> dict:
        return self.post(f"/v2/apps/{q(app)}/run/", {"command": command})

    def follow_logs(self, app: str, lines: int | None = None, proc_type: str | None = None):
        """Yield the app's log output (str chunks) as it comes, until the server ends or the caller stops."""
        if not self.token:
            raise NotLoggedIn("not logged in: run `slipway login URL` first")
        params = {"follow": "true"}
        if lines:
            params["log_lines"] = lines
        if proc_type:
            params["type"] = proc_type
        path = f"/v2/apps/{q(app)}/logs/"
        try:
            r = self.session.get(self.url + path, params=params, headers={"Authorization": f"token {self.token}"},
                                 verify=self.verify, timeout=(self.connect_timeout, None), stream=True,
                                 allow_redirects=False)
        except requests.exceptions.SSLError as e:
            raise CLIError(f"TLS error talking to {self.url}: {reason(e)}") from None
        except requests.exceptions.RequestException as e:
            raise CLIError(f"cannot reach the controller at {self.url} (GET {path}): {reason(e)}") from None
        with r:
            if r.status_code >= 300:
                self._handle(r, True)
            try:
                for chunk in r.iter_content(chunk_size=None, decode_unicode=False):
                    if chunk:
                        yield chunk.decode("utf-8", errors="replace")
            except requests.exceptions.RequestException as e:
                raise CLIError(f"the log stream from {self.url} broke: {reason(e)}") from None

    def attach(self, app: str):
        """Open the WebSocket of an interactive run session (the token goes in a header, never the URL)."""
        from slipway_cli.websocket import WebSocket, WebSocketError

        if not self.token:
            raise NotLoggedIn("not logged in: run `slipway login URL` first")
        ca = self.verify if isinstance(self.verify, str) else None
        try:
            return WebSocket.connect(self.url + f"/v2/apps/{q(app)}/run/attach",
                                     headers={"Authorization": f"token {self.token}"}, ca=ca,
                                     timeout=self.connect_timeout, user_agent=USER_AGENT)
        except WebSocketError as e:
            detail = None
            if e.body:
                try:
                    import json as _json
                    body = _json.loads(e.body)
                    detail = body.get("detail") if isinstance(body, dict) else None
                except ValueError:
                    pass
            if e.status in (404, 405) and (not isinstance(detail, str) or detail.rstrip(".").lower() == "not found"):
                raise APIError("this controller does not offer interactive sessions (no /run/attach)",
                               status=e.status) from None
            raise APIError(format_detail(detail) if detail else str(e), status=e.status) from None

    # --- config --------------------------------------------------------------------------------------

    def config(self, app: str) -> dict:
        return self.get(f"/v2/apps/{q(app)}/config/")

    def set_config(self, app: str, **delta: dict) -> dict:
        return self.post(f"/v2/apps/{q(app)}/config/", delta)

    # --- builds and releases -------------------------------------------------------------------------

    def releases(self, app: str) -> dict:
        return self.get_list(f"/v2/apps/{q(app)}/releases/")

    def release(self, app: str, version: int) -> dict:
        return self.get(f"/v2/apps/{q(app)}/releases/v{int(version)}/")

    def rollback(self, app: str, version: int | None = None) -> dict:
        return self.post(f"/v2/apps/{q(app)}/releases/rollback/",
                         {"version": int(version)} if version is not None else {})

    def builds(self, app: str) -> dict:
        return self.get_list(f"/v2/apps/{q(app)}/builds/")

    def build(self, app: str, uuid: str) -> dict:
        return self.get(f"/v2/apps/{q(app)}/builds/{q(uuid)}/")

    def create_build(self, app: str, image: str, procfile: dict | None = None) -> dict:
        return self.post(f"/v2/apps/{q(app)}/builds/", {"image": image, **({"procfile": procfile} if procfile else {})})

    # --- processes -----------------------------------------------------------------------------------

    def pods(self, app: str, proc_type: str | None = None) -> dict:
        suffix = f"{q(proc_type)}/" if proc_type else ""
        return self.get_list(f"/v2/apps/{q(app)}/pods/{suffix}")

    def scale(self, app: str, structure: dict) -> None:
        self.post(f"/v2/apps/{q(app)}/scale/", structure)

    def restart(self, app: str, proc_type: str | None = None, name: str | None = None) -> Any:
        path = f"/v2/apps/{q(app)}/pods/"
        if proc_type:
            path += f"{q(proc_type)}/"
            if name:
                path += f"{q(name)}/"
        return self.post(path + "restart/")

    # --- domains, certs, settings --------------------------------------------------------------------

    def domains(self, app: str) -> dict:
        return self.get_list(f"/v2/apps/{q(app)}/domains/")

    def add_domain(self, app: str, domain: str) -> dict:
        return self.post(f"/v2/apps/{q(app)}/domains/", {"domain": domain})

    def remove_domain(self, app: str, domain: str) -> None:
        self.delete(f"/v2/apps/{q(app)}/domains/{q(domain)}")

    def certs(self) -> dict:
        return self.get_list("/v2/certs/")

    def cert(self, name: str) -> dict:
        return self.get(f"/v2/certs/{q(name)}")

    def add_cert(self, name: str, certificate: str, key: str) -> dict:
        return self.post("/v2/certs/", {"name": name, "certificate": certificate, "key": key})

    def remove_cert(self, name: str) -> None:
        self.delete(f"/v2/certs/{q(name)}")

    def attach_cert(self, name: str, domain: str) -> Any:
        return self.post(f"/v2/certs/{q(name)}/domain/", {"domain": domain})

    def detach_cert(self, name: str, domain: str) -> None:
        self.delete(f"/v2/certs/{q(name)}/domain/{q(domain)}")

    def auto_certs(self) -> dict:
        return self.get_list("/v2/certs/auto/")

    def auto_cert(self, domain: str) -> dict:
        return self.get(f"/v2/certs/auto/{q(domain)}")

    def add_auto_cert(self, domain: str) -> dict:
        return self.post("/v2/certs/auto/", {"domain": domain})

    def renew_auto_cert(self, domain: str) -> dict:
        return self.post(f"/v2/certs/auto/{q(domain)}/renew/")

    def remove_auto_cert(self, domain: str) -> None:
        self.delete(f"/v2/certs/auto/{q(domain)}")

    def settings(self, app: str) -> dict:
        return self.get(f"/v2/apps/{q(app)}/settings/")

    def set_settings(self, app: str, **settings) -> dict:
        return self.post(f"/v2/apps/{q(app)}/settings/", settings)

    def add_to_whitelist(self, app: str, addresses: list[str]) -> list[str]:
        return self.post(f"/v2/apps/{q(app)}/whitelist/", {"addresses": addresses})["addresses"]

    def remove_from_whitelist(self, app: str, addresses: list[str]) -> None:
        self.delete(f"/v2/apps/{q(app)}/whitelist/", {"addresses": addresses}, expect_json=False)

    # --- keys and permissions ------------------------------------------------------------------------

    def keys(self) -> dict:
        return self.get_list("/v2/keys/")

    def add_key(self, key_id: str, public: str) -> dict:
        return self.post("/v2/keys/", {"id": key_id, "public": public})

    def remove_key(self, key_id: str) -> None:
        self.delete(f"/v2/keys/{q(key_id)}")

    def perms(self, app: str) -> dict:
        return self.get(f"/v2/apps/{q(app)}/perms/")

    def add_perm(self, app: str, username: str) -> Any:
        return self.post(f"/v2/apps/{q(app)}/perms/", {"username": username})

    def remove_perm(self, app: str, username: str) -> None:
        self.delete(f"/v2/apps/{q(app)}/perms/{q(username)}")

    def admins(self) -> dict:
        return self.get_list("/v2/admin/perms/")

    def add_admin(self, username: str) -> Any:
        return self.post("/v2/admin/perms/", {"username": username})

    def remove_admin(self, username: str) -> None:
        self.delete(f"/v2/admin/perms/{q(username)}")
