import MQTT

/// Subscriptions: the MQTT module's `TopicTree` with, per filter, the sessions subscribed
/// to it and their options, and the shared-subscription groups on it (§4.8.2). Matching a
/// topic merges a session's overlapping subscriptions into one route (§3.3.4: one PUBLISH
/// per client, every matching identifier); each matching shared group gets one copy, for
/// the member `SharedGroup.choose()` picks.
final class SubscriptionTree {
    struct Route {
        let session: Session
        /// The highest QoS of its matching subscriptions.
        var qos: QoS
        /// MQTT 5 options of the matching subscriptions; nil when none has any (the common
        /// case: a route is copied for every message, so it stays two words).
        var extras: Extras?

        final class Extras {
            /// The highest QoS of those without No Local: what its own messages get (nil: none).
            var qosForOwn: QoS?
            /// Some matching subscription has Retain As Published.
            var retainAsPublished: Bool
            /// The Subscription Identifiers of the matching subscriptions.
            var identifiers: [Int]

            init(qosForOwn: QoS?, retainAsPublished: Bool, identifiers: [Int]) {
                self.qosForOwn = qosForOwn
                self.retainAsPublished = retainAsPublished
                self.identifiers = identifiers
            }
        }

        /// What the session's own messages get under No Local (nil: none).
        var qosForOwn: QoS? { extras == nil ? qos : extras!.qosForOwn }
        var retainAsPublished: Bool { extras?.retainAsPublished ?? false }
        var identifiers: [Int] { extras?.identifiers ?? [] }
        /// Some subscription has No Local: the publisher must be asked.
        var hasNoLocal: Bool { extras != nil && extras!.qosForOwn != qos }
    }

    /// What a topic matches: routes to sessions, and shared groups (a member chosen per message).
    struct Routes {
        var direct: [Route]
        var shared: [SharedGroup]?
    }

    /// `$share/<group>/<filter>`: the members, each with its options; one gets each message.
    /// Event-loop thread only; `@unchecked Sendable` because deliveries name it and a
    /// compaction snapshot of deliveries crosses to the committer, which never reads it.
    final class SharedGroup: @unchecked Sendable {
        let name: String
        private(set) var members: [(session: Session, options: SubscriptionOptions)] = []
        private var next = 0

        init(name: String) { self.name = name }

        var isEmpty: Bool { members.isEmpty }

        func set(_ session: Session, _ options: SubscriptionOptions) -> Bool {
            if let index = members.firstIndex(where: { $0.session === session }) {
                members[index].options = options
                return false
            }
            members.append((session, options))
            return true
        }

        func remove(_ session: Session) -> Bool {
            guard let index = members.firstIndex(where: { $0.session === session }) else { return false }
            members.remove(at: index)
            if next > index { next -= 1 }
            return true
        }

        /// Round robin over the connected members; if none is connected, over all of them
        /// (an offline persistent member queues the message). `excluding`: a member the
        /// message must not go to (the one that just left).
        func choose(excluding: Session? = nil) -> (session: Session, options: SubscriptionOptions)? {
            let count = members.count
            guard count > 0 else { return nil }
            for pass in 0..<2 {
                for offset in 0..<count {
                    let index = (next + offset) % count
                    let member = members[index]
                    if member.session === excluding { continue }
                    if pass == 0 && member.session.connection == nil { continue }
                    next = index + 1
                    return member
                }
            }
            return nil
        }
    }

    private struct Entry {
        var direct: [ObjectIdentifier: (session: Session, options: SubscriptionOptions)] = [:]
        var shared: [String: SharedGroup] = [:]
        var isEmpty: Bool { direct.isEmpty && shared.isEmpty }
    }

    private let tree = TopicTree<Entry>()
    private var generation: UInt64 = 0
    private(set) var count = 0

    /// Adds or replaces (§3.8.4: same filter replaces the options) a subscription; a
    /// `$share/<group>/<filter>` one joins its group.
    func subscribe(_ filter: String, session: Session, options: SubscriptionOptions) {
        let shared = (try? Topic.sharedSubscription(filter)) ?? nil
        let added = tree.update(shared?.filter ?? filter) { entry -> Bool in
            if entry == nil { entry = Entry() }
            if let shared {
                if entry!.shared[shared.group] == nil { entry!.shared[shared.group] = SharedGroup(name: shared.group) }
                return entry!.shared[shared.group]!.set(session, options)
            }
            return entry!.direct.updateValue((session, options), forKey: ObjectIdentifier(session)) == nil
        }
        if added { count += 1 }
    }

    /// Removes a subscription; returns whether it existed.
    @discardableResult
    func unsubscribe(_ filter: String, session: Session) -> Bool {
        let shared = (try? Topic.sharedSubscription(filter)) ?? nil
        let path = shared?.filter ?? filter
        guard let entry = tree.entry(at: path) else { return false }
        if let shared {
            guard let group = entry.shared[shared.group], group.members.contains(where: { $0.session === session }) else { return false }
        } else {
            guard entry.direct[ObjectIdentifier(session)] != nil else { return false }
        }
        tree.update(path) { entry in
            if let shared {
                _ = entry!.shared[shared.group]!.remove(session)
                if entry!.shared[shared.group]!.isEmpty { entry!.shared[shared.group] = nil }
            } else {
                entry!.direct.removeValue(forKey: ObjectIdentifier(session))
            }
            if entry!.isEmpty { entry = nil }
        }
        count -= 1
        return true
    }

    /// Every session with a subscription matching `topic`, once each (§3.3.5: one copy at
    /// the maximum QoS), and every shared group on a matching filter.
    func match(_ topic: String) -> Routes {
        generation &+= 1
        var result = Routes(direct: [], shared: nil)
        tree.forEachMatching(topic: topic) { entry in
            if !entry.shared.isEmpty { result.shared = (result.shared ?? []) + entry.shared.values }
            for (session, options) in entry.direct.values {
                let plain = !options.noLocal && !options.retainAsPublished && options.identifier == nil
                if session.routeMark == generation {
                    let index = session.routeIndex
                    let route = result.direct[index]
                    if options.qos > route.qos { result.direct[index].qos = options.qos }
                    if plain && route.extras == nil { continue }
                    let extras = route.extras ?? Route.Extras(qosForOwn: route.qos, retainAsPublished: false, identifiers: [])
                    let own = options.noLocal ? nil : options.qos
                    if let own, extras.qosForOwn == nil || own > extras.qosForOwn! { extras.qosForOwn = own }
                    if options.retainAsPublished { extras.retainAsPublished = true }
                    if let identifier = options.identifier { extras.identifiers.append(identifier) }
                    result.direct[index].extras = extras
                } else {
                    session.routeMark = generation
                    session.routeIndex = result.direct.count
                    let extras = plain ? nil : Route.Extras(
                        qosForOwn: options.noLocal ? nil : options.qos, retainAsPublished: options.retainAsPublished,
                        identifiers: options.identifier.map { [$0] } ?? [])
                    result.direct.append(Route(session: session, qos: options.qos, extras: extras))
                }
            }
        }
        return result
    }
}
