//! The fleet every window is drawn from: hosts with their role, operating system and sensor, and
//! the accounts that use them. Built from its own random stream, so it is the same for a seed
//! whatever the options.

use crate::event::{Rng, chance, index};

/// Operating system family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Os {
    Windows,
    Linux,
    Macos,
}

impl Os {
    pub fn as_str(self) -> &'static str {
        match self {
            Os::Windows => "windows",
            Os::Linux => "linux",
            Os::Macos => "macos",
        }
    }
}

/// What a host is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AssetRole {
    Workstation,
    Server,
    DomainController,
    BuildServer,
    BackupServer,
    Scanner,
    VpnGateway,
}

impl AssetRole {
    pub fn as_str(self) -> &'static str {
        match self {
            AssetRole::Workstation => "workstation",
            AssetRole::Server => "server",
            AssetRole::DomainController => "domain_controller",
            AssetRole::BuildServer => "build_server",
            AssetRole::BackupServer => "backup_server",
            AssetRole::Scanner => "scanner",
            AssetRole::VpnGateway => "vpn_gateway",
        }
    }
}

/// An account's role in the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UserRole {
    Staff,
    Developer,
    Executive,
    Admin,
    Service,
}

impl UserRole {
    pub fn as_str(self) -> &'static str {
        match self {
            UserRole::Staff => "staff",
            UserRole::Developer => "developer",
            UserRole::Executive => "executive",
            UserRole::Admin => "admin",
            UserRole::Service => "service",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Host {
    pub name: String,
    pub os: Os,
    pub role: AssetRole,
    pub sensor: &'static str,
    /// Part of the software rollout that shifts the test period when drift is on.
    pub rollout: bool,
    /// The workstation's primary user, or the service account running a server.
    pub owner: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct User {
    pub name: String,
    pub role: UserRole,
}

/// The sensor build installed by the rollout that drift simulates; never seen in training.
pub(crate) const ROLLOUT_SENSOR: &str = "edr-8.0";

#[derive(Debug, Clone)]
pub(crate) struct Inventory {
    pub hosts: Vec<Host>,
    pub users: Vec<User>,
    /// Host indices per (role, Windows only) pair, for fast draws.
    hosts_by: Vec<((AssetRole, bool), Vec<usize>)>,
    /// Account indices per role.
    users_by: Vec<(UserRole, Vec<usize>)>,
}

const SERVICE_ACCOUNTS: &[&str] = &[
    "svc-backup",
    "svc-build",
    "svc-scan",
    "svc-vpn",
    "svc-monitor",
    "svc-deploy",
    "svc-sql",
    "svc-web",
    "svc-app01",
    "svc-app02",
    "svc-app03",
    "svc-app04",
];

impl Inventory {
    /// Builds the fleet: 442 people with a workstation each, 18 admins, 60 servers, 4 domain
    /// controllers, 8 build servers, 3 backup servers, 2 scanners and 2 VPN gateways.
    pub fn new(rng: &mut Rng) -> Inventory {
        let mut inv = Inventory {
            hosts: Vec::new(),
            users: Vec::new(),
            hosts_by: Vec::new(),
            users_by: Vec::new(),
        };
        let people = [
            (UserRole::Staff, 360),
            (UserRole::Developer, 70),
            (UserRole::Executive, 12),
        ];
        for (role, n) in people {
            for _ in 0..n {
                let u = inv.add_user(format!("u{:04}", inv.users.len() + 1), role);
                let os = match role {
                    UserRole::Developer => pick_os(rng, 0.30, 0.35),
                    UserRole::Executive => pick_os(rng, 0.50, 0.0),
                    _ => pick_os(rng, 0.85, 0.0),
                };
                inv.add_host(rng, "ws", AssetRole::Workstation, os, u);
            }
        }
        for i in 1..=18 {
            let u = inv.add_user(format!("adm-{i:02}"), UserRole::Admin);
            inv.add_host(rng, "ws", AssetRole::Workstation, Os::Windows, u);
        }
        for name in SERVICE_ACCOUNTS {
            inv.add_user((*name).to_string(), UserRole::Service);
        }
        let svc = |inv: &Inventory, name: &str| inv.users.iter().position(|u| u.name == name);
        let app_owners: Vec<usize> = SERVICE_ACCOUNTS[4..]
            .iter()
            .filter_map(|n| svc(&inv, n))
            .collect();
        for _ in 0..60 {
            let os = pick_os(rng, 0.4, 0.6);
            let owner = app_owners[index(rng, app_owners.len())];
            inv.add_host(rng, "srv", AssetRole::Server, os, owner);
        }
        let fixed = [
            ("dc", AssetRole::DomainController, 4, "svc-monitor"),
            ("build", AssetRole::BuildServer, 8, "svc-build"),
            ("bkp", AssetRole::BackupServer, 3, "svc-backup"),
            ("scan", AssetRole::Scanner, 2, "svc-scan"),
            ("vpn", AssetRole::VpnGateway, 2, "svc-vpn"),
        ];
        for (prefix, role, n, owner) in fixed {
            let owner = svc(&inv, owner).unwrap_or(0);
            for _ in 0..n {
                let os = match role {
                    AssetRole::DomainController => Os::Windows,
                    AssetRole::BackupServer => pick_os(rng, 0.67, 0.33),
                    _ => Os::Linux,
                };
                inv.add_host(rng, prefix, role, os, owner);
            }
        }
        inv.index();
        inv
    }

    fn index(&mut self) {
        let mut hosts_by: Vec<((AssetRole, bool), Vec<usize>)> = Vec::new();
        for (i, h) in self.hosts.iter().enumerate() {
            for windows_only in [false, true] {
                if windows_only && h.os != Os::Windows {
                    continue;
                }
                let key = (h.role, windows_only);
                match hosts_by.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, v)) => v.push(i),
                    None => hosts_by.push((key, vec![i])),
                }
            }
        }
        let mut users_by: Vec<(UserRole, Vec<usize>)> = Vec::new();
        for (i, u) in self.users.iter().enumerate() {
            match users_by.iter_mut().find(|(k, _)| *k == u.role) {
                Some((_, v)) => v.push(i),
                None => users_by.push((u.role, vec![i])),
            }
        }
        self.hosts_by = hosts_by;
        self.users_by = users_by;
    }

    fn add_user(&mut self, name: String, role: UserRole) -> usize {
        self.users.push(User { name, role });
        self.users.len() - 1
    }

    fn add_host(&mut self, rng: &mut Rng, prefix: &str, role: AssetRole, os: Os, owner: usize) {
        let n = self
            .hosts
            .iter()
            .filter(|h| h.name.starts_with(prefix))
            .count()
            + 1;
        let name = match role {
            AssetRole::Workstation => format!("{prefix}-{n:04}"),
            AssetRole::Server => format!("{prefix}-{n:03}"),
            _ => format!("{prefix}-{n:02}"),
        };
        let sensor = match os {
            Os::Windows if chance(rng, 0.55) => "edr-7.2",
            Os::Windows | Os::Macos => "edr-7.3",
            Os::Linux => "edr-linux-2.4",
        };
        let rollout = chance(rng, 0.35) && role == AssetRole::Workstation && os == Os::Windows;
        self.hosts.push(Host {
            name,
            os,
            role,
            sensor,
            rollout,
            owner,
        });
    }

    /// A random host of the role, optionally restricted to Windows.
    pub fn host(&self, rng: &mut Rng, role: AssetRole, windows_only: bool) -> usize {
        let key = (role, windows_only);
        match self.hosts_by.iter().find(|(k, _)| *k == key) {
            Some((_, v)) => v[index(rng, v.len())],
            None => 0,
        }
    }

    /// A random account of the role.
    pub fn user(&self, rng: &mut Rng, role: UserRole) -> usize {
        match self.users_by.iter().find(|(k, _)| *k == role) {
            Some((_, v)) => v[index(rng, v.len())],
            None => 0,
        }
    }

    /// A random person (staff, developer or executive), weighted by headcount.
    pub fn person(&self, rng: &mut Rng) -> usize {
        let r = rng_role(rng);
        self.user(rng, r)
    }
}

fn rng_role(rng: &mut Rng) -> UserRole {
    let x = crate::event::uniform(rng, 0.0, 1.0);
    if x < 0.81 {
        UserRole::Staff
    } else if x < 0.97 {
        UserRole::Developer
    } else {
        UserRole::Executive
    }
}

/// Windows with probability `windows`, Linux with `linux`, otherwise macOS.
fn pick_os(rng: &mut Rng, windows: f64, linux: f64) -> Os {
    let x = crate::event::uniform(rng, 0.0, 1.0);
    if x < windows {
        Os::Windows
    } else if x < windows + linux {
        Os::Linux
    } else {
        Os::Macos
    }
}
