#!/usr/bin/env python3
"""Drives a running Hydrant broker with paho-mqtt's MQTT 5 client (2.x); one line per result.

    paho5_check.py properties PORT     user properties, content type, response topic, correlation
                                       data and message expiry reach a v5 subscriber
    paho5_check.py options PORT        No Local, Retain Handling 1/2, Retain As Published,
                                       two Subscription Identifiers on one PUBLISH
    paho5_check.py aliases PORT        topic aliases both ways (publisher sends aliases; the
                                       subscriber accepts 4 and gets them)
    paho5_check.py shared PORT         $share/g/jobs across 3 clients: each job once, round robin
    paho5_check.py willdelay PORT      will delay 2 s with session expiry 30: not before 2 s
    paho5_check.py session-setup PORT  persistent sessions 'brief' (expiry 1 s) and 'lasting' (600 s)
    paho5_check.py session-check PORT  after a restart: 'brief' is gone, 'lasting' is present
    paho5_check.py receive-maximum PORT  raw socket: one QoS 2 PUBLISH more than the broker's
                                       Receive Maximum (3) gets DISCONNECT 0x93
Exit 0 when the check holds, 1 otherwise; every wait is bounded.
"""
import socket
import struct
import sys
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions


def client(client_id):
    return mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)


def connect(c, port, clean_start=True, properties=None, keepalive=30):
    connected = threading.Event()
    result = {}

    def on_connect(cl, userdata, flags, reason, props):
        result["session_present"] = flags.session_present
        result["reason"] = reason
        result["properties"] = props
        connected.set()

    c.on_connect = on_connect
    c.connect("127.0.0.1", port, keepalive, clean_start=clean_start, properties=properties)
    c.loop_start()
    if not connected.wait(5):
        raise SystemExit("connect timed out")
    return result


RESOLVED = {}  # id(message) -> the topic its alias stood for


def collect(c):
    """Received messages, in order; a topic sent as an alias only is filled in from the
    alias's earlier mapping, as an application on paho does (paho leaves it empty)."""
    messages = []
    lock = threading.Lock()
    aliases = {}

    def on_message(cl, userdata, message):
        alias = getattr(message.properties, "TopicAlias", None) if message.properties else None
        if alias is not None:
            if message.topic:
                aliases[alias] = message.topic
            else:
                RESOLVED[id(message)] = aliases.get(alias, "")
        message.timestamp = time.time()
        with lock:
            messages.append(message)

    c.on_message = on_message
    return messages


def subscribe(c, topic, options=None, properties=None):
    done = threading.Event()
    granted = []

    def on_subscribe(cl, userdata, mid, reason_codes, props):
        granted.extend(reason_codes)
        done.set()

    c.on_subscribe = on_subscribe
    c.subscribe(topic, options=options or SubscribeOptions(qos=1), properties=properties)
    if not done.wait(5):
        raise SystemExit("SUBACK timed out for %s" % topic)
    return granted


def publish(c, topic, payload, qos=1, retain=False, properties=None):
    info = c.publish(topic, payload, qos=qos, retain=retain, properties=properties)
    info.wait_for_publish(5)
    return info


def wait_for(predicate, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def stop(*clients):
    for c in clients:
        c.disconnect()
        c.loop_stop()


def check(ok, line):
    print(("ok " if ok else "FAILED ") + line)
    return ok


def properties_check(port):
    sub, pub = client("p5-sub"), client("p5-pub")
    messages = collect(sub)
    connect(sub, port)
    subscribe(sub, "p5/#")
    connect(pub, port)
    props = Properties(PacketTypes.PUBLISH)
    props.UserProperty = [("site", "7"), ("line", "4")]
    props.ContentType = "application/json"
    props.ResponseTopic = "p5/replies/pub"
    props.CorrelationData = b"\x01\x02"
    props.MessageExpiryInterval = 120
    props.PayloadFormatIndicator = 1
    publish(pub, "p5/req", b'{"n":1}', properties=props)
    wait_for(lambda: messages)
    stop(sub, pub)
    if not messages:
        return check(False, "no message")
    m = messages[0].properties
    return check(
        m.UserProperty == [("site", "7"), ("line", "4")] and m.ContentType == "application/json"
        and m.ResponseTopic == "p5/replies/pub" and m.CorrelationData == b"\x01\x02"
        and 110 <= m.MessageExpiryInterval <= 120 and m.PayloadFormatIndicator == 1,
        "properties user=%s content=%s response=%s correlation=%r expiry=%s" % (
            m.UserProperty, m.ContentType, m.ResponseTopic, m.CorrelationData, m.MessageExpiryInterval))


def options_check(port):
    me, other, retainer = client("o5-me"), client("o5-other"), client("o5-retainer")
    mine, theirs = collect(me), collect(other)
    connect(retainer, port)
    publish(retainer, "o5/retained", b"old", retain=True)
    connect(me, port)
    connect(other, port)
    ids = Properties(PacketTypes.SUBSCRIBE)
    ids.SubscriptionIdentifier = 11
    subscribe(me, "o5/#", SubscribeOptions(qos=1, noLocal=True, retainAsPublished=True, retainHandling=1), ids)
    ids2 = Properties(PacketTypes.SUBSCRIBE)
    ids2.SubscriptionIdentifier = 22
    subscribe(me, "o5/+", SubscribeOptions(qos=1, noLocal=True, retainHandling=2), ids2)
    wait_for(lambda: mine, 3)
    retained_first = [m.topic for m in mine]
    del mine[:]
    subscribe(me, "o5/#", SubscribeOptions(qos=1, noLocal=True, retainAsPublished=True, retainHandling=1), ids)  # not new: no retained
    subscribe(other, "o5/#", SubscribeOptions(qos=1, retainHandling=2))  # never retained
    publish(me, "o5/own", b"mine")  # No Local
    publish(retainer, "o5/live", b"new", retain=True)
    wait_for(lambda: len(theirs) >= 2 and mine, 5)
    time.sleep(0.3)
    stop(me, other, retainer)
    live = [m for m in mine if m.topic == "o5/live"]
    ids_seen = sorted(live[0].properties.SubscriptionIdentifier) if live else []
    ok = (retained_first == ["o5/retained"] and [m.topic for m in mine] == ["o5/live"] and live[0].retain
          and ids_seen == [11, 22] and sorted(m.topic for m in theirs) == ["o5/live", "o5/own"])
    return check(ok, "options retained_first=%s mine=%s ids=%s theirs=%s" % (
        retained_first, [(m.topic, m.retain) for m in mine], ids_seen, sorted(m.topic for m in theirs)))


def aliases_check(port):
    sub, pub = client("a5-sub"), client("a5-pub")
    messages = collect(sub)
    props = Properties(PacketTypes.CONNECT)
    props.TopicAliasMaximum = 4
    result = connect(sub, port, properties=props)
    subscribe(sub, "a5/#")
    connect(pub, port)
    # The publisher names the topic once with alias 1, then sends only the alias.
    first = Properties(PacketTypes.PUBLISH)
    first.TopicAlias = 1
    publish(pub, "a5/long/topic/name/for/aliases", b"0", properties=first)
    for n in range(1, 6):
        again = Properties(PacketTypes.PUBLISH)
        again.TopicAlias = 1
        publish(pub, "", str(n).encode(), properties=again)
    wait_for(lambda: len(messages) >= 6)
    stop(sub, pub)
    topics = {RESOLVED.get(id(m), m.topic) for m in messages}
    sent_names = sum(1 for m in messages if m.topic)
    aliases = [getattr(m.properties, "TopicAlias", None) for m in messages]
    broker_max = getattr(result["properties"], "TopicAliasMaximum", None)
    # The broker named the topic once on its own alias, then sent the alias alone.
    return check(topics == {"a5/long/topic/name/for/aliases"} and len(messages) == 6 and aliases == [1] * 6 and sent_names == 1 and broker_max == 10,
                 "aliases received=%d topics=%s aliases=%s names_sent=%d broker_maximum=%s" % (len(messages), topics, aliases, sent_names, broker_max))


def shared_check(port):
    workers = [client("s5-w%d" % i) for i in range(3)]
    boxes = [collect(w) for w in workers]
    for w in workers:
        connect(w, port)
        subscribe(w, "$share/g/s5/jobs")
    pub = client("s5-pub")
    connect(pub, port)
    for n in range(30):
        publish(pub, "s5/jobs", str(n).encode())
    wait_for(lambda: sum(len(b) for b in boxes) >= 30)
    time.sleep(0.3)
    stop(pub, *workers)
    counts = [len(b) for b in boxes]
    payloads = sorted(int(m.payload) for b in boxes for m in b)
    return check(payloads == list(range(30)) and counts == [10, 10, 10], "shared counts=%s unique=%d" % (counts, len(set(payloads))))


def willdelay_check(port):
    watcher, device = client("w5-watcher"), client("w5-device")
    messages = collect(watcher)
    connect(watcher, port)
    subscribe(watcher, "w5/wills/#")
    will_props = Properties(PacketTypes.WILLMESSAGE)
    will_props.WillDelayInterval = 2
    device.will_set("w5/wills/device", b"gone", qos=1, properties=will_props)
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 30
    connect(device, port, properties=props)
    started = time.time()
    device.disconnect(reasoncode=ReasonCode(PacketTypes.DISCONNECT, "Disconnect with will message"))
    device.loop_stop()
    wait_for(lambda: messages, max(0.0, started + 1.5 - time.time()))
    early = bool(messages)
    arrived = bool(wait_for(lambda: messages, 5))
    elapsed = (messages[0].timestamp if messages else time.time()) - started
    stop(watcher)
    return check(not early and arrived and elapsed >= 1.8, "willdelay early=%s arrived=%s after=%.1fs" % (early, arrived, elapsed))


def session_setup(port):
    for name, expiry in (("brief", 1), ("lasting", 600)):
        c = client("e5-" + name)
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = expiry
        connect(c, port, clean_start=False, properties=props)
        subscribe(c, "e5/" + name)
        stop(c)
    return check(True, "session-setup")


def session_check(port):
    present = {}
    for name in ("brief", "lasting"):
        c = client("e5-" + name)
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 600
        present[name] = connect(c, port, clean_start=False, properties=props)["session_present"]
        stop(c)
    return check(present == {"brief": False, "lasting": True}, "session-check present=%s" % present)


def raw_receive_maximum(port):
    """CONNECT v5 then four QoS 2 PUBLISHes without PUBREL against --receive-maximum 3."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    body = b"\x00\x04MQTT\x05\x02\x00\x1e\x00" + b"\x00\x03raw"
    s.sendall(b"\x10" + bytes([len(body)]) + body)
    connack = s.recv(64)
    if not connack or connack[0] != 0x20:
        return check(False, "receive-maximum no CONNACK: %r" % connack)
    answers = b""
    for packet_id in range(1, 5):
        publish = b"\x00\x02rm" + struct.pack(">H", packet_id) + b"\x00" + b"x"
        s.sendall(b"\x34" + bytes([len(publish)]) + publish)
        time.sleep(0.1)
    deadline = time.time() + 5
    while time.time() < deadline:
        try:
            chunk = s.recv(4096)
        except socket.timeout:
            break
        if not chunk:
            break
        answers += chunk
    s.close()
    # Three PUBRECs (0x50), then DISCONNECT (0xE0) with reason 0x93.
    disconnect = answers.find(b"\xe0")
    reason = answers[disconnect + 2] if disconnect >= 0 and len(answers) > disconnect + 2 else None
    return check(answers.count(b"\x50\x02") == 3 and reason == 0x93, "receive-maximum pubrecs=%d reason=%s" % (answers.count(b"\x50\x02"), reason))


CHECKS = {
    "properties": properties_check, "options": options_check, "aliases": aliases_check, "shared": shared_check,
    "willdelay": willdelay_check, "session-setup": session_setup, "session-check": session_check,
    "receive-maximum": raw_receive_maximum,
}

if __name__ == "__main__":
    ok = CHECKS[sys.argv[1]](int(sys.argv[2]))
    sys.exit(0 if ok else 1)
