"""`python -m diversion.healthcheck`: exit 0 when the web server in this container answers
/healthz, 1 otherwise (docker-compose.yml's health check of web).

It names a host the site answers to (the first of ALLOWED_HOSTS), since Django refuses a
request for any other host and an operator's ALLOWED_HOSTS need not hold 127.0.0.1.
"""

from __future__ import annotations

import os
import sys
import urllib.request

URL = "http://127.0.0.1:8000/healthz"


def host_header(allowed_hosts: str) -> str:
    """A Host header that ALLOWED_HOSTS accepts: its first entry, made concrete."""
    first = next((h.strip() for h in allowed_hosts.split(",") if h.strip()), "localhost")
    if first == "*":
        return "localhost"
    return f"health{first}" if first.startswith(".") else first


def main() -> int:
    host = host_header(os.environ.get("ALLOWED_HOSTS") or "localhost")
    request = urllib.request.Request(URL, headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=3) as response:  # noqa: S310
            return 0 if response.status == 200 else 1
    except OSError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
