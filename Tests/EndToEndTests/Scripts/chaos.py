#!/usr/bin/env python3
"""Chaos test (issue #7): kill -9 the daemon at random moments and prove nothing
acknowledged is lost.

    chaos.py HYDRANT WORKDIR [--kills N] [--seed S]

Runs `HYDRANT run` on a fixed free port with a rule feeding a lake stream and an SQLite
stream. Two paho publishers with persistent sessions send sequence numbers, one at QoS 1
(and every 25th message also a retained value at QoS 1) and one at QoS 2; a paho subscriber
with a persistent session (QoS 2 subscription) is offline part of the time. The daemon is
SIGKILLed N times (default 12) after a random 0.4-2.0 s and restarted at once; paho
reconnects and resends what was not acknowledged. At the end, publishing stops, every
publish is acknowledged, the daemon is stopped with SIGTERM, and the script checks:

  - every acknowledged sequence number is in the lake, in the SQLite table and at the
    persistent subscriber
  - exactly once in the lake and the table (issue #12): every QoS 2 message, and every
    QoS 1 message the publisher sent once (its PUBACK arrived on the connection it was
    published on). A QoS 1 message paho resent after a reconnect may be there more than
    once: the publisher's own duplicate, counted apart (`resent_duplicates`)
  - QoS 2 deliveries to the subscriber have no duplicates
  - the retained messages are the last ones set

Prints `chaos: …` lines and finally `lost=<n> sink_duplicates=<n> qos2_duplicates=<n>
retained_ok=<bool>`; exit 0 only when lost=0, sink_duplicates=0, qos2_duplicates=0 and
retained_ok. Every wait is bounded.
"""
import argparse
import glob
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time

import paho.mqtt.client as mqtt

PIPELINE = {
    "rules": [{
        "name": "chaos",
        "sql": "SELECT *, topic(2) AS publisher FROM 'chaos/+/seq'",
        "actions": [{"stream": "chaos-lake"}, {"stream": "chaos-table"}],
    }],
    "streams": [
        {"name": "chaos-lake", "destination": {"lake": {}}, "buffering": {"sizeMiB": 1, "intervalSeconds": 1}},
        {"name": "chaos-table", "destination": {"sqlite": {"table": "chaos_events"}}, "buffering": {"sizeMiB": 1, "intervalSeconds": 1}},
    ],
}
MIGRATION = "CREATE TABLE chaos_events (publisher TEXT NOT NULL, seq INTEGER NOT NULL, qos INTEGER NOT NULL, payload TEXT);\n"


START = time.time()


def log(*parts):
    print(f"chaos: [{time.time() - START:6.2f}s]", *parts, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DaemonRunner:
    def __init__(self, binary, work, port):
        self.binary, self.work, self.port = binary, work, port
        self.proc = None
        self.log = open(os.path.join(work, "daemon.log"), "ab")

    def start(self):
        args = [self.binary, "run", "--host", "127.0.0.1", "--port", str(self.port),
                "--data", os.path.join(self.work, "data"), "--pipelines", os.path.join(self.work, "pipelines"),
                "--migrations", os.path.join(self.work, "migrations"), "--log-level", os.environ.get("CHAOS_LOG_LEVEL", "info"),
                "--max-queued", "1000000", "--sys-interval", "0"]
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=self.log)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"daemon exited with {self.proc.returncode} at start; see {self.log.name}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.02)
        raise SystemExit("daemon did not listen within 30 s")

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(60)


class Client(mqtt.Client):
    """paho 2.2.0 with one client-side fix. Found by this test: when paho reconnects twice
    without a CONNACK in between (the daemon is killed again while it loads its state), a
    QoS 2 message whose PUBREL was already sent is reset from "resend PUBREL" to "publish"
    and PUBLISHed again with DUP=0 — which MQTT 3.1.1 §4.3.3 forbids once PUBREL is sent.
    A broker cannot tell that PUBLISH from a new message reusing the packet id, so the
    subscriber would get it twice. The fix keeps such a message in the PUBREL state."""

    def _messages_reconnect_reset_out(self):
        with self._out_message_mutex:
            for m in self._out_messages.values():
                if m.qos == 2 and m.state == mqtt.mqtt_ms_resend_pubrel:
                    m.state = mqtt.mqtt_ms_wait_for_pubcomp
        super()._messages_reconnect_reset_out()


def make_client(client_id):
    c = Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False, protocol=mqtt.MQTTv311)
    c.reconnect_delay_set(min_delay=0.2, max_delay=1)
    c.max_queued_messages_set(0)
    return c


class Publisher:
    """Publishes {"seq": n, "qos": q} to chaos/<name>/seq, at most `window` unacknowledged."""

    def __init__(self, name, qos, port, retained=False):
        self.name, self.qos, self.retained_every = name, qos, (25 if retained else 0)
        self.lock = threading.Lock()
        # (MQTTMessageInfo, seq or None): paho calls back under its own locks, so this
        # thread polls is_published() instead of taking a lock in on_publish.
        self.pending = []
        self.acked = set()
        # Sent once: acknowledged on the connection it was published on (no resend).
        self.once = set()
        self.epoch = 0  # connections so far (CONNACKs), bumped on paho's thread
        self.retained_last = {}  # topic -> last value published (all are acknowledged at the end)
        self.next_seq = 0
        self.client = make_client(f"chaos-{name}")
        self.client.on_connect = self.on_connect
        self.client.max_inflight_messages_set(50)
        self.client.connect_async("127.0.0.1", port, keepalive=10)
        self.client.loop_start()
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def on_connect(self, client, userdata, flags, rc, properties):
        self.epoch += 1

    @staticmethod
    def published(info):
        # A publish made while paho was disconnected reports "not connected" but is queued
        # and sent on reconnect: its own flag says whether it was acknowledged since.
        try:
            return info.is_published()
        except RuntimeError:
            with info._condition:
                return info._published

    def sweep(self):
        still = []
        epoch = self.epoch
        for info, seq, published_in in self.pending:
            if self.published(info):
                if seq is not None:
                    with self.lock:
                        self.acked.add(seq)
                        if published_in == epoch:
                            self.once.add(seq)
            else:
                still.append((info, seq, published_in))
        self.pending = still

    def run(self):
        while True:
            self.sweep()
            if not self.running:
                if not self.pending:
                    return
                time.sleep(0.02)
                continue
            if len(self.pending) >= 100 or not self.client.is_connected():
                time.sleep(0.005)
                continue
            n = self.next_seq
            self.next_seq += 1
            epoch = self.epoch
            info = self.client.publish(f"chaos/{self.name}/seq", json.dumps({"seq": n, "qos": self.qos}), qos=self.qos)
            self.pending.append((info, n, epoch))
            if self.retained_every and n % self.retained_every == 0:
                topic = f"chaos/retained/{(n // self.retained_every) % 3}"
                info = self.client.publish(topic, str(n), qos=1, retain=True)
                self.pending.append((info, None, epoch))
                self.retained_last[topic] = str(n)
            time.sleep(0.0005)

    def acked_count(self):
        with self.lock:
            return len(self.acked)

    def done(self):
        return not self.thread.is_alive()


class Subscriber:
    def __init__(self, port):
        self.port = port
        self.lock = threading.Lock()
        self.received = {}  # (publisher, seq) -> count
        self.qos2_dups = 0
        self.qos2_dup_keys = []
        self.client = make_client("chaos-subscriber")
        self.client.on_message = self.on_message
        self.client.on_connect = lambda c, u, flags, rc, p: c.subscribe("chaos/+/seq", qos=2)
        self.online = False

    def on_message(self, client, userdata, message):
        body = json.loads(message.payload)
        key = (message.topic.split("/")[1], body["seq"])
        with self.lock:
            count = self.received.get(key, 0) + 1
            self.received[key] = count
            if count > 1 and message.qos == 2:
                self.qos2_dups += 1
                self.qos2_dup_keys.append((key, message.mid, message.dup, round(time.time() - START, 2)))

    def go_online(self):
        if not self.online:
            self.client.connect_async("127.0.0.1", self.port, keepalive=10)
            self.client.loop_start()
            self.online = True

    def go_offline(self):
        if self.online:
            self.client.disconnect()
            self.client.loop_stop()
            self.online = False

    def has(self, publisher, seqs):
        with self.lock:
            return all((publisher, n) in self.received for n in seqs)


def wait_until(what, predicate, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    log(f"timed out after {timeout} s waiting for {what}")
    return False


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("hydrant")
    parser.add_argument("work")
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    rng = random.Random(args.seed)
    log(f"seed={args.seed} kills={args.kills}")
    for sub in ("pipelines", "migrations", "data"):
        os.makedirs(os.path.join(args.work, sub), exist_ok=True)
    with open(os.path.join(args.work, "pipelines", "chaos.json"), "w") as f:
        json.dump(PIPELINE, f)
    with open(os.path.join(args.work, "migrations", "0001_chaos.sql"), "w") as f:
        f.write(MIGRATION)

    port = free_port()
    daemon = DaemonRunner(args.hydrant, args.work, port)
    daemon.start()
    subscriber = Subscriber(port)
    subscriber.go_online()
    if not wait_until("the subscriber's subscription", lambda: subscriber.client.is_connected(), 10):
        return 2
    time.sleep(0.3)
    publishers = [Publisher("q1", 1, port, retained=True), Publisher("q2", 2, port)]

    for kill in range(1, args.kills + 1):
        time.sleep(rng.uniform(0.4, 2.0))
        # The subscriber is offline for a stretch in the middle of the run.
        if kill == args.kills // 3:
            subscriber.go_offline()
        if kill == 2 * args.kills // 3:
            subscriber.go_online()
        daemon.kill9()
        acked = sum(p.acked_count() for p in publishers)
        log(f"kill {kill}: acknowledged so far={acked} subscriber_online={subscriber.online}")
        if os.environ.get("CHAOS_KEEP_STATE"):
            shutil.copytree(os.path.join(args.work, "data", "state"), os.path.join(args.work, f"state-after-kill-{kill}"))
        daemon.start()

    subscriber.go_online()
    time.sleep(1.0)
    for p in publishers:
        p.running = False
    if not wait_until("every publish to be acknowledged", lambda: all(p.done() for p in publishers), 90):
        for p in publishers:
            log(f"publisher {p.name}: outstanding={len(p.pending)}")
    wait_until("the subscriber to have every acknowledged message",
               lambda: all(subscriber.has(p.name, p.acked) for p in publishers), 60)

    # Retained: a fresh clean client gets the last value set per topic.
    retained = {}
    checker = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="chaos-retained-check", clean_session=True)
    checker.on_message = lambda c, u, m: retained.__setitem__(m.topic, m.payload.decode()) if m.retain else None
    checker.on_connect = lambda c, u, flags, rc, p: c.subscribe("chaos/retained/#", qos=1)
    checker.connect("127.0.0.1", port, keepalive=10)
    checker.loop_start()
    expected_retained = publishers[0].retained_last
    wait_until("the retained messages", lambda: len(retained) >= len(expected_retained), 10)
    checker.disconnect()
    checker.loop_stop()
    subscriber.go_offline()
    for p in publishers:
        p.client.disconnect()
        p.client.loop_stop()

    status = daemon.stop()
    log(f"daemon stopped with status {status}")

    lake = {}
    for path in glob.glob(os.path.join(args.work, "data", "lake", "chaos-lake", "**", "*.ndjson"), recursive=True):
        with open(path) as f:
            for line in f:
                record = json.loads(line)
                key = (record["publisher"], record["seq"])
                lake[key] = lake.get(key, 0) + 1
    table = {}
    db = sqlite3.connect(os.path.join(args.work, "data", "hydrant.sqlite"))
    for publisher, seq in db.execute("SELECT publisher, seq FROM chaos_events"):
        table[(publisher, seq)] = table.get((publisher, seq), 0) + 1
    db.close()

    acknowledged = {(p.name, n) for p in publishers for n in p.acked}
    # Must be exactly once in the sinks: QoS 2, and QoS 1 sent once.
    exactly_once = {(p.name, n) for p in publishers for n in (p.acked if p.qos == 2 else p.once)}
    total_lost = 0
    sink_duplicates = 0
    for name, seen in (("lake", lake), ("sqlite", table), ("subscriber", subscriber.received)):
        lost = sorted(acknowledged - seen.keys())
        duplicated = sum(count - 1 for count in seen.values())
        total_lost += len(lost)
        detail = ""
        if name != "subscriber":
            wrong = sorted(key for key, count in seen.items() if count > 1 and key in exactly_once)
            resent = sum(count - 1 for key, count in seen.items() if count > 1 and key not in exactly_once)
            sink_duplicates += sum(seen[key] - 1 for key in wrong)
            detail = (f" exactly_once_expected={len(exactly_once)} duplicates={sum(seen[key] - 1 for key in wrong)}"
                      f" resent_duplicates={resent}" + (f" first_duplicates={wrong[:10]}" if wrong else ""))
        log(f"{name}: acknowledged={len(acknowledged)} stored={len(seen)} lost={len(lost)} duplicated={duplicated}" + detail
            + (f" first_lost={lost[:10]}" if lost else ""))
    if subscriber.qos2_dup_keys:
        log(f"QoS 2 duplicates at the subscriber (key, packet id, dup): {subscriber.qos2_dup_keys[:10]}")
    retained_ok = retained == expected_retained
    log(f"retained: expected={expected_retained} got={retained}")
    print(f"kills={args.kills} acknowledged={len(acknowledged)} lost={total_lost} sink_duplicates={sink_duplicates} "
          f"qos2_duplicates={subscriber.qos2_dups} retained_ok={retained_ok} daemon_status={status}", flush=True)
    good = (total_lost == 0 and sink_duplicates == 0 and subscriber.qos2_dups == 0 and retained_ok and status == 0
            and len(acknowledged) > 0)
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
