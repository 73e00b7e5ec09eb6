"""The delivery engine: snapshot recipients, claim requests, send to LINE, finish."""
