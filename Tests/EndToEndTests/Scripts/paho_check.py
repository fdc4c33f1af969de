#!/usr/bin/env python3
"""Drives a running Hydrant broker with paho-mqtt (2.x) and prints one line per result.

    paho_check.py qos2 PORT COUNT         exactly-once fan-in: prints received/duplicates/missing
    paho_check.py persistent PORT         offline QoS 1 messages reach a persistent session
    paho_check.py takeover PORT           a second client with the same id takes the session
    paho_check.py will PORT               the will of a dropped client is delivered
    paho_check.py sequence PORT START COUNT
                                          QoS 1 publishes {"seq": n, "factory": …} to
                                          factory/<n % 3>/machine/<n % 7>/status, one at a time,
                                          printing each acknowledged n; stops when the broker goes
Exit 0 when the check holds, 1 otherwise; every wait is bounded.
"""
import sys
import threading
import time

import paho.mqtt.client as mqtt


def client(client_id, clean=True):
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean,
                    protocol=mqtt.MQTTv311)
    return c


def connect(c, port, keepalive=30):
    connected = threading.Event()
    result = {}

    def on_connect(cl, userdata, flags, reason, properties):
        result["session_present"] = flags.session_present
        result["reason"] = reason
        connected.set()

    c.on_connect = on_connect
    c.connect("127.0.0.1", port, keepalive)
    c.loop_start()
    if not connected.wait(5):
        raise SystemExit("connect timed out")
    return result


def subscribe(c, topic, qos):
    """Subscribes and waits (bounded) for the SUBACK."""
    done = threading.Event()
    c.on_subscribe = lambda *a: done.set()
    c.subscribe(topic, qos=qos)
    done.wait(5)


def wait_for(predicate, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def check_qos2(port, count):
    received = []
    sub = client("paho-q2-sub")
    sub.on_message = lambda c, u, m: received.append((m.topic, m.payload.decode(), m.qos))
    connect(sub, port)
    subscribe(sub, "factory/+/machine/+/status", 2)
    pub = client("paho-q2-pub")
    connect(pub, port)
    infos = [pub.publish(f"factory/1/machine/{i % 7}/status", f"{i}", qos=2) for i in range(count)]
    for info in infos:
        info.wait_for_publish(10)
    wait_for(lambda: len(received) >= count)
    time.sleep(0.3)  # anything extra would be a duplicate
    payloads = [p for _, p, _ in received]
    duplicates = len(payloads) - len(set(payloads))
    missing = count - len(set(payloads))
    qos_ok = all(q == 2 for _, _, q in received)
    print(f"received={len(payloads)} duplicates={duplicates} missing={missing} qos2={qos_ok}")
    pub.disconnect(); sub.disconnect()
    return duplicates == 0 and missing == 0 and qos_ok


def check_persistent(port):
    sub = client("paho-logger", clean=False)
    first = connect(sub, port)
    subscribe(sub, "factory/+/machine/+/alerts", 1)
    sub.disconnect(); sub.loop_stop()
    pub = client("paho-alerter")
    connect(pub, port)
    for i in range(5):
        pub.publish(f"factory/1/machine/{i}/alerts", f"alert-{i}", qos=1).wait_for_publish(5)
    pub.disconnect()
    received = []
    back = client("paho-logger", clean=False)
    back.on_message = lambda c, u, m: received.append(m.payload.decode())
    second = connect(back, port)
    wait_for(lambda: len(received) >= 5)
    print(f"first_session_present={first['session_present']} second_session_present={second['session_present']} received={received}")
    back.disconnect()
    return (not first["session_present"]) and second["session_present"] and received == [f"alert-{i}" for i in range(5)]


def check_takeover(port):
    dropped = threading.Event()
    a = client("paho-same-id")
    a.on_disconnect = lambda *args: dropped.set()
    connect(a, port)
    # Keep the first client from reconnecting and fighting the second one.
    a.reconnect_delay_set(60, 60)
    b = client("paho-same-id")
    connect(b, port)
    ok = dropped.wait(5)
    received = []
    b.on_message = lambda c, u, m: received.append(m.payload.decode())
    subscribe(b, "takeover/t", 1)
    p = client("paho-takeover-pub")
    connect(p, port)
    p.publish("takeover/t", "to-b", qos=1).wait_for_publish(5)
    got = wait_for(lambda: received == ["to-b"], 5)
    print(f"old_disconnected={ok} new_received={received}")
    a.loop_stop(); b.disconnect(); p.disconnect()
    return ok and got


def check_will(port):
    received = []
    watcher = client("paho-watcher")
    watcher.on_message = lambda c, u, m: received.append((m.topic, m.payload.decode(), m.qos))
    connect(watcher, port)
    subscribe(watcher, "factory/+/machine/+/status", 1)
    device = client("paho-device")
    device.will_set("factory/1/machine/9/status", "offline", qos=1, retain=True)
    connect(device, port)
    device.loop_stop()
    device.socket().close()  # dies without DISCONNECT
    got = wait_for(lambda: len(received) >= 1, 5)
    print(f"will={received}")
    watcher.disconnect()
    return got and received[0] == ("factory/1/machine/9/status", "offline", 1)


def publish_sequence(port, start, count):
    c = client(f"paho-seq-{start}")
    connect(c, port)
    lost = threading.Event()
    c.on_disconnect = lambda *args: lost.set()
    for n in range(start, start + count):
        info = c.publish(f"factory/{n % 3}/machine/{n % 7}/status",
                         f'{{"seq": {n}, "state": "running", "temp": {20 + n % 10}.5}}', qos=1)
        deadline = time.time() + 10
        while not info.is_published() and not lost.is_set() and time.time() < deadline:
            time.sleep(0.0005)
        if not info.is_published():
            break
        print(n, flush=True)
    c.loop_stop()
    return True


def main():
    check, port = sys.argv[1], int(sys.argv[2])
    if check == "qos2":
        ok = check_qos2(port, int(sys.argv[3]))
    elif check == "persistent":
        ok = check_persistent(port)
    elif check == "takeover":
        ok = check_takeover(port)
    elif check == "will":
        ok = check_will(port)
    elif check == "sequence":
        ok = publish_sequence(port, int(sys.argv[3]), int(sys.argv[4]))
    else:
        raise SystemExit(f"unknown check {check}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
