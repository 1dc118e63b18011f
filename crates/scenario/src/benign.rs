//! Normal activity: the background every window starts from, and the benign sub-populations.
//!
//! Benign data is deliberately not easy to separate: admins run encoded PowerShell and open SMB
//! sessions to many hosts, backup jobs move tens of gigabytes at night, the vulnerability
//! scanner touches thousands of ports, build servers run unsigned fresh binaries, monitoring
//! agents beacon with clockwork regularity and people mistype passwords from hotels abroad.

use crate::event::{
    Category, Event, Period, Rng, When, beta, chance, int, lognormal, normal, poisson, time,
};
use crate::fields::{N_NUM, Num::*};
use crate::inventory::{AssetRole, Inventory, Os, UserRole};

/// Typical 15-minute volumes for one kind of host.
struct Profile {
    procs: f64,
    bytes_out: f64,
    in_ratio: f64,
    conns: f64,
    dst_hosts: f64,
    ports: f64,
    dns: f64,
    dns_entropy: f64,
    files: f64,
    rename: f64,
    beacon: (f64, f64),
    cmd_entropy: f64,
    logins: f64,
    rare: f64,
    unsigned: f64,
    smb: f64,
}

fn profile(role: AssetRole) -> Profile {
    let base = Profile {
        procs: 40.0,
        bytes_out: 2.0e6,
        in_ratio: 6.0,
        conns: 60.0,
        dst_hosts: 14.0,
        ports: 4.0,
        dns: 90.0,
        dns_entropy: 2.9,
        files: 25.0,
        rename: 0.15,
        beacon: (2.0, 5.0),
        cmd_entropy: 3.6,
        logins: 0.8,
        rare: 0.08,
        unsigned: 0.05,
        smb: 0.6,
    };
    match role {
        AssetRole::Workstation => base,
        AssetRole::Server => Profile {
            procs: 150.0,
            bytes_out: 3.0e7,
            in_ratio: 1.5,
            conns: 400.0,
            dst_hosts: 35.0,
            ports: 8.0,
            dns: 200.0,
            files: 120.0,
            rename: 0.5,
            beacon: (8.0, 3.0),
            cmd_entropy: 3.9,
            logins: 2.0,
            rare: 0.2,
            unsigned: 0.2,
            smb: 3.0,
            ..base
        },
        AssetRole::DomainController => Profile {
            procs: 220.0,
            bytes_out: 5.0e7,
            in_ratio: 1.0,
            conns: 900.0,
            dst_hosts: 250.0,
            ports: 15.0,
            dns: 1500.0,
            files: 60.0,
            rename: 0.3,
            beacon: (6.0, 3.0),
            cmd_entropy: 3.8,
            logins: 3.0,
            smb: 20.0,
            ..base
        },
        AssetRole::BuildServer => Profile {
            procs: 2500.0,
            bytes_out: 8.0e7,
            in_ratio: 6.0,
            conns: 300.0,
            dst_hosts: 25.0,
            ports: 6.0,
            dns: 400.0,
            dns_entropy: 3.2,
            files: 6000.0,
            rename: 18.0,
            beacon: (3.0, 3.0),
            cmd_entropy: 4.8,
            logins: 3.0,
            rare: 12.0,
            unsigned: 20.0,
            smb: 1.0,
        },
        AssetRole::BackupServer => Profile {
            procs: 90.0,
            bytes_out: 2.0e10,
            in_ratio: 0.3,
            conns: 250.0,
            dst_hosts: 60.0,
            ports: 5.0,
            dns: 100.0,
            files: 4000.0,
            rename: 3.0,
            beacon: (4.0, 3.0),
            cmd_entropy: 3.7,
            logins: 4.0,
            smb: 40.0,
            ..base
        },
        AssetRole::Scanner => Profile {
            procs: 60.0,
            bytes_out: 6.0e7,
            in_ratio: 0.8,
            conns: 30_000.0,
            dst_hosts: 400.0,
            ports: 1500.0,
            dns: 3000.0,
            dns_entropy: 3.3,
            files: 40.0,
            rename: 0.1,
            beacon: (5.0, 2.0),
            cmd_entropy: 4.1,
            logins: 1.0,
            rare: 0.3,
            unsigned: 0.5,
            smb: 5.0,
        },
        AssetRole::VpnGateway => Profile {
            procs: 30.0,
            bytes_out: 4.0e8,
            in_ratio: 1.0,
            conns: 1500.0,
            dst_hosts: 200.0,
            ports: 20.0,
            dns: 300.0,
            files: 15.0,
            rename: 0.1,
            beacon: (5.0, 3.0),
            cmd_entropy: 3.3,
            logins: 8.0,
            smb: 0.0,
            ..base
        },
    }
}

/// Normal activity of `user` on `host` in the window starting at `t`.
pub(crate) fn background(
    rng: &mut Rng,
    inv: &Inventory,
    host: usize,
    user: usize,
    t: i64,
    category: Category,
) -> Event {
    let h = &inv.hosts[host];
    let role = inv.users[user].role;
    let p = profile(h.role);
    let mut e = Event {
        time: t,
        host,
        user,
        sensor: h.sensor,
        category,
        num: [0.0; N_NUM],
        gap: None,
    };
    // Authentication.
    e[SuccessfulLogins] = poisson(rng, p.logins);
    e[FailedLogins] = poisson(rng, 0.08 + p.logins * 0.05);
    if chance(rng, 0.04) {
        e[FailedLogins] += int(rng, 1, 5); // mistyped password
        e[MfaFailures] = poisson(rng, 0.4);
    } else if chance(rng, 0.004) {
        e[FailedLogins] += int(rng, 6, 15); // locked out, stale saved password
    }
    e[MfaFailures] += poisson(rng, 0.02);
    e[DistinctSourceIps] = 1.0 + poisson(rng, 0.15);
    e[SourceFanoutAccounts] = 1.0;
    let traveller = match role {
        UserRole::Executive => 0.15,
        UserRole::Service => 0.0,
        _ => 0.03,
    };
    e[GeoDistanceKm] = match h.role {
        AssetRole::Workstation => lognormal(rng, 8.0, 1.0),
        AssetRole::VpnGateway => lognormal(rng, 40.0, 1.3),
        _ => 0.0,
    };
    if chance(rng, traveller) && matches!(h.role, AssetRole::Workstation | AssetRole::VpnGateway) {
        e[GeoDistanceKm] = lognormal(rng, 1500.0, 0.9);
    }
    match h.role {
        AssetRole::DomainController => {
            e[DistinctSourceIps] += poisson(rng, 1.5);
            e[SourceFanoutAccounts] = lognormal(rng, 2.0, 1.0); // terminal servers, Citrix
        }
        AssetRole::VpnGateway => {
            e[FailedLogins] += poisson(rng, 0.6);
            e[DistinctSourceIps] += poisson(rng, 0.6);
            e[SourceFanoutAccounts] = lognormal(rng, 3.0, 1.1); // carrier-grade NAT
            e[MfaFailures] += poisson(rng, 0.15);
        }
        AssetRole::Workstation if chance(rng, 0.02) => {
            e[SourceFanoutAccounts] = int(rng, 2, 6); // shared kiosk
        }
        _ => {}
    }
    // Process and file activity.
    e[ProcessStarts] = lognormal(rng, p.procs, 0.6);
    e[RareProcessCount] = poisson(rng, p.rare);
    e[UnsignedBinaries] = poisson(rng, p.unsigned);
    e[ParentChildRarity] = if h.role == AssetRole::BuildServer {
        beta(rng, 2.0, 6.0)
    } else {
        beta(rng, 1.2, 8.0)
    };
    e[CmdlineEntropy] = p.cmd_entropy + 0.3 * normal(rng);
    if h.os == Os::Windows && chance(rng, 0.002) {
        e[LsassAccess] = 1.0; // the security agent or a crash dumper reading LSASS
    }
    e[FilesWritten] = lognormal(rng, p.files, 0.9);
    e[FileRenameRate] = lognormal(rng, p.rename, 0.8);
    if h.role == AssetRole::BackupServer && chance(rng, 0.01) {
        e[ShadowCopyDelete] = 1.0; // snapshot rotation by the backup product
    }
    // Network.
    e[BytesOut] = lognormal(rng, p.bytes_out, 1.2);
    e[BytesIn] = e[BytesOut] * lognormal(rng, p.in_ratio, 1.0);
    e[Connections] = lognormal(rng, p.conns, 0.7);
    e[DistinctDstHosts] = lognormal(rng, p.dst_hosts, 0.6);
    e[DistinctDstPorts] = if p.ports > 100.0 {
        lognormal(rng, p.ports, 1.0)
    } else {
        2.0 + poisson(rng, p.ports)
    };
    e[DnsQueries] = lognormal(rng, p.dns, 0.7);
    e[DnsEntropy] = p.dns_entropy + 0.25 * normal(rng);
    e[BeaconRegularity] = beta(rng, p.beacon.0, p.beacon.1);
    if h.role == AssetRole::Workstation && chance(rng, 0.10) {
        e[BeaconRegularity] = beta(rng, 9.0, 2.0); // chat or update agent heartbeat
    }
    e[SmbSessions] = if p.smb > 10.0 {
        lognormal(rng, p.smb, 0.7)
    } else {
        poisson(rng, p.smb)
    };
    by_user_role(rng, &mut e, role, h.os);
    e
}

/// What the account's role adds on top of the host's normal activity.
fn by_user_role(rng: &mut Rng, e: &mut Event, role: UserRole, os: Os) {
    match role {
        UserRole::Developer => {
            e[ProcessStarts] *= 3.0;
            e[RareProcessCount] += poisson(rng, 1.5);
            e[UnsignedBinaries] += poisson(rng, 2.5);
            e[CmdlineEntropy] += 0.5;
            e[DistinctDstPorts] += poisson(rng, 6.0);
            e[BytesIn] *= 3.0;
            e[DnsQueries] *= 1.5;
            e[DnsEntropy] += 0.2;
            e[FilesWritten] *= 3.0;
            e[FileRenameRate] *= 3.0;
            e[ParentChildRarity] = beta(rng, 2.0, 6.0);
        }
        UserRole::Admin => {
            e[PrivilegedLogon] = if chance(rng, 0.85) { 1.0 } else { 0.0 };
            if os == Os::Windows && chance(rng, 0.25) {
                e[EncodedPowershell] = int(rng, 1, 4); // management scripts
            }
            e[ParentChildRarity] = beta(rng, 2.0, 4.0);
            e[CmdlineEntropy] += 0.4;
            e[SmbSessions] += poisson(rng, 3.0);
            e[DistinctDstHosts] += poisson(rng, 5.0);
            e[DistinctDstPorts] += poisson(rng, 3.0);
            e[RareProcessCount] += poisson(rng, 0.5);
            if os == Os::Windows && chance(rng, 0.005) {
                e[LsassAccess] += 1.0; // procdump while troubleshooting
            }
            if chance(rng, 0.003) {
                e[ShadowCopyDelete] = 1.0; // freeing disk space on a full volume
            }
        }
        UserRole::Service => {
            e[SuccessfulLogins] += poisson(rng, 2.0);
            if chance(rng, 0.3) {
                e[PrivilegedLogon] = 1.0; // backup operators, deployment accounts
            }
        }
        UserRole::Staff | UserRole::Executive => {}
    }
}

/// One benign window, drawn from the sub-populations of normal activity.
pub(crate) fn benign(rng: &mut Rng, inv: &Inventory, period: Period) -> Event {
    let x = rng_unit(rng);
    let (host, user, when) = if x < 0.44 {
        let h = inv.host(rng, AssetRole::Workstation, false);
        let mut u = inv.hosts[h].owner;
        if inv.users[u].role == UserRole::Developer || inv.users[u].role == UserRole::Admin {
            u = inv.user(rng, UserRole::Staff);
        }
        (h, u, When::Work(0.9))
    } else if x < 0.56 {
        let u = inv.user(rng, UserRole::Developer);
        let h = inv
            .hosts
            .iter()
            .position(|h| h.owner == u)
            .unwrap_or_default();
        (h, u, When::Work(0.8))
    } else if x < 0.63 {
        let u = inv.user(rng, UserRole::Admin);
        let y = rng_unit(rng);
        let h = if y < 0.55 {
            inv.host(rng, AssetRole::Server, false)
        } else if y < 0.75 {
            inv.host(rng, AssetRole::DomainController, false)
        } else {
            inv.hosts.iter().position(|h| h.owner == u).unwrap_or(0)
        };
        (h, u, When::Work(0.7))
    } else if x < 0.80 {
        let h = inv.host(rng, AssetRole::Server, false);
        (h, inv.hosts[h].owner, When::Any)
    } else if x < 0.87 {
        let h = inv.host(rng, AssetRole::DomainController, false);
        (h, inv.person(rng), When::Work(0.75))
    } else if x < 0.91 {
        let h = inv.host(rng, AssetRole::BuildServer, false);
        (h, inv.hosts[h].owner, When::Work(0.6))
    } else if x < 0.935 {
        let h = inv.host(rng, AssetRole::BackupServer, false);
        (h, inv.hosts[h].owner, When::Night)
    } else if x < 0.95 {
        let h = inv.host(rng, AssetRole::Scanner, false);
        let when = if chance(rng, 0.7) {
            When::Night
        } else {
            When::Any
        };
        (h, inv.hosts[h].owner, when)
    } else {
        let h = inv.host(rng, AssetRole::VpnGateway, false);
        (h, inv.person(rng), When::Work(0.6))
    };
    let t = time(rng, period, when);
    background(rng, inv, host, user, t, Category::Benign)
}

fn rng_unit(rng: &mut Rng) -> f64 {
    crate::event::uniform(rng, 0.0, 1.0)
}
