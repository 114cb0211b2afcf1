"""Gunicorn settings shared by `make run` (scripts/stack.py) and docker-compose.yml."""

accesslog = "-"
# The path without its query string: a search such as /cases/?q=<name> holds personal data,
# and application logs never carry personal data.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms'
