"""The token bucket that paces calls to LINE: a burst, then the rate, on a controlled clock (no sleeps)."""

import threading

import pytest

from crm.line.ratelimit import TokenBucket
from tests.clocks import ControlledClock


def test_a_full_bucket_gives_its_burst_at_once_then_one_token_per_interval():
    clock = ControlledClock()
    bucket = TokenBucket(10, burst=3, clock=clock, sleep=clock.sleep)
    granted = []
    for _ in range(7):
        bucket.take()
        granted.append(round(clock(), 6))
    assert granted == [0.0, 0.0, 0.0, 0.1, 0.2, 0.3, 0.4]


def test_an_idle_bucket_refills_up_to_its_burst_only():
    clock = ControlledClock()
    bucket = TokenBucket(10, burst=2, clock=clock, sleep=clock.sleep)
    bucket.take(), bucket.take()
    clock.sleep(60)  # a long pause saves no more than the burst
    waits = [bucket.take() for _ in range(4)]
    assert waits[:2] == [0.0, 0.0]
    assert waits[2] == pytest.approx(0.1) and waits[3] == pytest.approx(0.1)


def test_threads_sharing_a_bucket_take_no_more_than_the_rate_allows():
    clock = ControlledClock()
    bucket = TokenBucket(50, burst=5, clock=clock, sleep=clock.sleep)

    def take_ten():
        for _ in range(10):
            bucket.take()

    threads = [threading.Thread(target=take_ten) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 80 tokens at 50 a second after a burst of 5 need at least 1.5 s of the clock
    assert clock() >= (80 - 5) / 50 - 1e-9


def test_a_bucket_needs_a_positive_rate():
    with pytest.raises(ValueError):
        TokenBucket(0)
