import Foundation
import HydrantTesting
import MQTT
import Testing

/// Retained messages kept in `<state>/retained`: restored on start, compacted when the
/// journal is mostly superseded updates.
@Suite struct RetainedPersistenceTests {
    @Test func survivesRestartAndIsCompacted() throws {
        let state = try TemporaryDirectory(prefix: "hydrant-state")
        defer { state.remove() }
        do {
            let broker = try BrokerHarness { $0.stateDirectory = state.path }
            let pub = try broker.client("pub")
            for n in 0..<1500 { try pub.publish("lamp/1", "v\(n)", qos: .atLeastOnce, retain: true) }
            try pub.publish("lamp/2", "short-lived", qos: .atLeastOnce, retain: true)
            try pub.publish("lamp/2", "", qos: .atLeastOnce, retain: true)
            try pub.publish("lamp/3", "blue", qos: .exactlyOnce, retain: true)
            broker.stop()
        }
        let before = try journalBytes(state.path + "/retained")
        let broker = try BrokerHarness { $0.stateDirectory = state.path }
        let sub = try broker.client("sub")
        try sub.subscribe("lamp/#", qos: .exactlyOnce)
        var got: [String: (String, QoS)] = [:]
        for _ in 0..<2 {
            let message = try sub.receivePublish()
            #expect(message.retain)
            got[message.topic] = (message.text, message.qos)
        }
        try sub.expectNothing()
        #expect(got["lamp/1"]?.0 == "v1499")
        #expect(got["lamp/3"]?.0 == "blue")
        #expect(got["lamp/3"]?.1 == .exactlyOnce)
        #expect(try journalBytes(state.path + "/retained") < before / 10)  // compacted at start
    }

    func journalBytes(_ directory: String) throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: directory).reduce(0) { total, name in
            total + ((try FileManager.default.attributesOfItem(atPath: directory + "/" + name)[.size] as? Int) ?? 0)
        }
    }
}
