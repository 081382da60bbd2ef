"""The README's "Try it" block (and its "Travellers" sequel), run verbatim by
bash against the test stack.

Only the addresses change (127.0.0.1:8080 is the test gateway, :8000 the test
users port). It runs twice, as on a stack in use: the second time the
account exists (409 on register) and the seat it picks must still be one
that is free. Every value the block extracts with `field` must parse, so a
changed answer fails here, not in a reader's shell.
"""

import os
import re
import subprocess
import unittest

import fo

README = os.path.join(fo.ROOT, "README.md")


def block_after(heading):
    """The first ```sh block after the heading line."""
    with open(README, encoding="utf-8") as f:
        text = f.read()
    section = text[text.index("\n%s\n" % heading):]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    if not match:
        raise AssertionError("README.md: no ```sh block under %s" % heading)
    return match.group(1)


def try_it_block():
    return block_after("## Try it")


def for_test_stack(block):
    """The block with the documented addresses moved to the test stack's."""
    block = block.replace("http://127.0.0.1:8080", fo.GATEWAY)
    return re.sub(r"http://127\.0\.0\.1:800([0-5])",
                  lambda m: "http://127.0.0.1:%d" % (fo.PORT_BASE + int(m.group(1))), block)


class ReadmeTryItTest(unittest.TestCase):

    def run_block(self):
        script = "set -euo pipefail\n" + for_test_stack(try_it_block()) + \
            '\necho "README_BOOKING_ID=$BOOKING_ID"\necho "README_TOKEN=$TOKEN"\n'
        done = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                              timeout=120, check=False)
        self.assertEqual(done.returncode, 0, "the README block failed:\n%s\n%s"
                         % (done.stdout[-3000:], done.stderr[-3000:]))
        out = done.stdout
        booking_id = int(re.search(r"^README_BOOKING_ID=(\d+)$", out, re.M).group(1))
        token = re.search(r"^README_TOKEN=(\S+)$", out, re.M).group(1)
        return out, booking_id, token

    def test_try_it_runs_verbatim_twice(self):
        seen = set()
        for round_ in (1, 2):
            out, booking_id, token = self.run_block()
            self.assertNotIn(booking_id, seen, "round %d booked the same booking again" % round_)
            seen.add(booking_id)
            self.assertIn('"status":"pending"', out, "no pending booking/payment printed")
            self.assertIn('"card_last4":"1111"', out, "the payment was not accepted:\n" + out)
            self.assertIn("http_requests_total", out, "no metrics printed")
            out = out[:4000]  # the rest is metrics: keep failure messages short
            self.assertIn('"status":"healthy"', out)
            if round_ == 2:
                self.assertRegex(out[:400], r"Email already registered|Username already taken")
            # The block sleeps 2 s before it looks; a slow (sanitizer) stack may
            # need longer, so the test waits here rather than trusting the sleep.
            fo.wait_booking(token, booking_id, "confirmed", base=fo.GATEWAY)


class ReadmeTravellersTest(unittest.TestCase):
    """The "Travellers" block, run verbatim after the Try-it block (whose
    GW, field and TOKEN it uses)."""

    def test_travellers_block_runs_verbatim(self):
        script = "set -euo pipefail\n" + for_test_stack(try_it_block()) + "\n" + \
            for_test_stack(block_after("### Travellers: cabins, several passengers, "
                                       "the live seat map"))
        done = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                              timeout=120, check=False)
        self.assertEqual(done.returncode, 0, "the README blocks failed:\n%s\n%s"
                         % (done.stdout[-3000:], done.stderr[-3000:]))
        out = done.stdout
        self.assertRegex(out, r"\('business', [\d.]+, \d+\)")
        names = re.search(r"\[\('Ada Lovelace', '(\w+)'\), \('Alan Turing', '(\w+)'\)\]", out)
        self.assertIsNotNone(names, out[-2000:])
        # the cancellation reached the stream, seat by seat
        for seat in names.groups():
            self.assertIn('data: {"seat_number":"%s","status":"available"}' % seat, out)


if __name__ == "__main__":
    unittest.main()
