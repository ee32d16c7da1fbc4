//! Which server each connection of the orders scenario uses, for a cluster of nodes:
//! placing clients on `--server`'s list, kitchens on `--kitchen-server`'s (else the
//! same list), each the list's first unless `--spread` deals them round robin over it.

use chit_client::Connector;

pub struct Nodes {
    pub placing: Connector,
    pub kitchens: Connector,
    pub spread: bool,
}

/// One server a scenario connects to: its connector and its index in that connector's
/// list.
#[derive(Clone, Copy)]
pub struct Node<'a> {
    pub target: &'a Connector,
    pub index: usize,
}

impl Node<'_> {
    pub fn url(&self) -> &str {
        &self.target.servers().get(self.index).url
    }
}

impl Nodes {
    /// One list for everyone, the first of it for every connection: `chit bench` as it
    /// was before clusters.
    #[cfg(test)]
    pub fn single(target: Connector) -> Nodes {
        Nodes {
            placing: target.clone(),
            kitchens: target,
            spread: false,
        }
    }

    /// The server of placing client `c`.
    pub fn placer(&self, c: usize) -> Node<'_> {
        Node {
            target: &self.placing,
            index: self.dealt(c, &self.placing),
        }
    }

    /// The server of kitchen `k`.
    pub fn kitchen(&self, k: usize) -> Node<'_> {
        Node {
            target: &self.kitchens,
            index: self.dealt(k, &self.kitchens),
        }
    }

    fn dealt(&self, n: usize, target: &Connector) -> usize {
        if self.spread {
            n % target.servers().len()
        } else {
            0
        }
    }

    /// The servers `clients` placing clients and `kitchens` kitchens use, each once (by
    /// URL), the first placing client's first: the scenario reads each one's figures.
    pub fn used(&self, clients: usize, kitchens: usize) -> Vec<Node<'_>> {
        let mut used: Vec<Node<'_>> = Vec::new();
        let all = (0..clients.max(1))
            .map(|c| self.placer(c))
            .chain((0..kitchens).map(|k| self.kitchen(k)));
        for node in all {
            if !used.iter().any(|u| u.url() == node.url()) {
                used.push(node);
            }
        }
        used
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chit_client::Servers;
    use chit_client::tls::Trust;

    fn connector(list: &str) -> Connector {
        let servers = Servers::parse(list).unwrap();
        Connector::new(servers, Trust::new(None).unwrap(), "t".into(), "test")
    }

    fn urls(nodes: &[Node<'_>]) -> Vec<String> {
        nodes.iter().map(|n| n.url().to_string()).collect()
    }

    const A: &str = "ws://127.0.0.1:1";
    const B: &str = "ws://127.0.0.1:2";
    const C: &str = "ws://127.0.0.1:3";

    #[test]
    fn without_spread_everyone_uses_the_first_server() {
        let nodes = Nodes::single(connector(&format!("{A},{B},{C}")));
        assert!((0..5).all(|c| nodes.placer(c).url() == A));
        assert!((0..5).all(|k| nodes.kitchen(k).url() == A));
        assert_eq!(urls(&nodes.used(8, 10)), [A]);
    }

    #[test]
    fn spread_deals_connections_round_robin() {
        let mut nodes = Nodes::single(connector(&format!("{A},{B},{C}")));
        nodes.spread = true;
        let placers: Vec<String> = (0..4).map(|c| nodes.placer(c).url().to_string()).collect();
        assert_eq!(placers, [A, B, C, A]);
        let kitchens: Vec<String> = (0..4).map(|k| nodes.kitchen(k).url().to_string()).collect();
        assert_eq!(kitchens, [A, B, C, A]);
        assert_eq!(urls(&nodes.used(8, 10)), [A, B, C]);
        assert_eq!(urls(&nodes.used(1, 2)), [A, B]);
    }

    #[test]
    fn kitchens_can_use_other_servers() {
        let nodes = Nodes {
            placing: connector(A),
            kitchens: connector(&format!("{B},{C}")),
            spread: false,
        };
        assert_eq!(nodes.placer(3).url(), A);
        assert_eq!(nodes.kitchen(3).url(), B);
        assert_eq!(urls(&nodes.used(8, 10)), [A, B]);
        let spread = Nodes {
            spread: true,
            ..nodes
        };
        assert_eq!(urls(&spread.used(8, 10)), [A, B, C]);
    }
}
