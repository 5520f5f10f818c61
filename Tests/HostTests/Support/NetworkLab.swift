import Foundation

/// Network namespaces for hosts that must not share a network stack with the test: a
/// bridge in the test's own namespace with one address (where PostgreSQL listens, and only
/// there), and per host a namespace joined to the bridge by a veth pair. Each host also
/// gets a UTS namespace with a hostname of its own, so it looks like another machine (its
/// leases cannot be judged dead by pid; they lapse). `tearDown` removes everything, and
/// runs from `defer` whether the test passed or not.
final class NetworkLab {
    let subnet: String      // e.g. "10.213.7"
    let bridge: String
    let namespaces: [String]
    var serverAddress: String { subnet + ".1" }
    private var made: [[String]] = []  // undo commands, newest last

    init(hosts: Int) throws {
        let tag = String(getpid() % 100_000)
        bridge = "whbr\(tag)"
        namespaces = (0..<hosts).map { "wavehost-\(tag)-\($0)" }
        subnet = try Self.freeSubnet()
        do {
            try ip(["link", "add", bridge, "type", "bridge"], undo: ["link", "del", bridge])
            try ip(["addr", "add", serverAddress + "/24", "dev", bridge])
            try ip(["link", "set", bridge, "up"])
            for (index, namespace) in namespaces.enumerated() {
                let outside = "whv\(tag)h\(index)", inside = "whv\(tag)n\(index)"
                try ip(["netns", "add", namespace], undo: ["netns", "del", namespace])
                try ip(["link", "add", outside, "type", "veth", "peer", "name", inside], undo: ["link", "del", outside])
                try ip(["link", "set", inside, "netns", namespace])
                try ip(["link", "set", outside, "master", bridge, "up"])
                try ip(["-n", namespace, "addr", "add", "\(subnet).\(10 + index)/24", "dev", inside])
                try ip(["-n", namespace, "link", "set", inside, "up"])
                try ip(["-n", namespace, "link", "set", "lo", "up"])
            }
        } catch {
            tearDown()
            throw error
        }
    }

    /// The command prefix that runs a program as host `index`: in its network namespace,
    /// under a hostname of its own.
    func prefix(_ index: Int) -> [String] {
        ["/usr/sbin/ip", "netns", "exec", namespaces[index], "/usr/bin/unshare", "--uts", "/bin/sh", "-c",
         "echo lab-host-\(index) > /proc/sys/kernel/hostname && exec \"$0\" \"$@\""]
    }

    /// Removes the namespaces (and their veth ends), the veth pairs and the bridge.
    func tearDown() {
        for undo in made.reversed() { _ = try? TestPlugins.run("/usr/sbin/ip", undo) }
        made = []
    }

    private func ip(_ arguments: [String], undo: [String]? = nil) throws {
        let result = try TestPlugins.run("/usr/sbin/ip", arguments)
        guard result.status == 0 else { throw TestSetupError("ip \(arguments.joined(separator: " ")) failed: \(result.error)") }
        if let undo { made.append(undo) }
    }

    /// A 10.x.y.0/24 no route of this machine covers.
    private static func freeSubnet() throws -> String {
        let routes = try TestPlugins.run("/usr/sbin/ip", ["-4", "route", "show", "table", "all"]).output
        for _ in 0..<50 {
            let subnet = "10.\(Int.random(in: 200...250)).\(Int.random(in: 0...255))"
            if !routes.contains(subnet + ".") && !routes.contains("10.0.0.0/8") { return subnet }
        }
        throw TestSetupError("no free 10.x.y.0/24 subnet for the network namespaces")
    }
}
