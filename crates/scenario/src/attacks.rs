//! Attack windows: normal background activity of the victim host plus the attack's traces.
//!
//! Every attack has a loud variant and a quiet, low-and-slow one that sits inside the benign
//! ranges of most features. Ransomware is the held-out novel category: its strongest traces
//! (mass renames, shadow-copy deletion) barely vary in training data, and about a third of it is
//! quiet enough that a classifier that never saw it would call it benign.

use crate::benign::background;
use crate::event::{
    Category, Event, Period, Rng, When, chance, int, lognormal, poisson, time, uniform,
};
use crate::fields::Num::*;
use crate::inventory::{AssetRole, Inventory, Os, UserRole};

/// Share of each attack category drawn as its quiet variant.
const QUIET: f64 = 0.25;

/// One window of the attack category `cat` (not benign).
pub(crate) fn attack(rng: &mut Rng, inv: &Inventory, period: Period, cat: Category) -> Event {
    let quiet = chance(
        rng,
        if cat == Category::Ransomware {
            0.35
        } else {
            QUIET
        },
    );
    let (host, user, when) = victim(rng, inv, cat, quiet);
    let t = time(rng, period, when);
    let windows = inv.hosts[host].os == Os::Windows;
    let mut e = background(rng, inv, host, user, t, cat);
    match cat {
        Category::BruteForce => brute_force(rng, &mut e, quiet),
        Category::PasswordSpray => password_spray(rng, &mut e, quiet),
        Category::LateralMovement => lateral_movement(rng, &mut e, quiet, windows),
        Category::Exfiltration => exfiltration(rng, &mut e, quiet),
        Category::C2Beacon => c2_beacon(rng, &mut e, quiet),
        Category::PortScan => port_scan(rng, &mut e, quiet),
        Category::Ransomware => ransomware(rng, &mut e, quiet),
        Category::Benign => {}
    }
    e
}

/// The host, account and time of day an attack of this kind lands on.
fn victim(rng: &mut Rng, inv: &Inventory, cat: Category, quiet: bool) -> (usize, usize, When) {
    let x = uniform(rng, 0.0, 1.0);
    let own = |inv: &Inventory, h: usize| inv.hosts[h].owner;
    let ws = |rng: &mut Rng, windows| inv.host(rng, AssetRole::Workstation, windows);
    let srv = |rng: &mut Rng, windows| inv.host(rng, AssetRole::Server, windows);
    match cat {
        Category::BruteForce => {
            let when = When::Work(if quiet { 0.7 } else { 0.35 });
            if x < 0.45 {
                let h = srv(rng, false);
                let u = if chance(rng, 0.5) {
                    inv.user(rng, UserRole::Admin)
                } else {
                    own(inv, h)
                };
                (h, u, when)
            } else if x < 0.75 {
                (
                    inv.host(rng, AssetRole::VpnGateway, false),
                    inv.person(rng),
                    when,
                )
            } else {
                let h = ws(rng, true);
                (h, own(inv, h), when)
            }
        }
        Category::PasswordSpray => {
            let role = if x < 0.55 {
                AssetRole::DomainController
            } else {
                AssetRole::VpnGateway
            };
            let when = When::Work(if quiet { 0.7 } else { 0.45 });
            (inv.host(rng, role, false), inv.person(rng), when)
        }
        Category::LateralMovement => {
            let h = if x < 0.45 {
                ws(rng, true)
            } else if x < 0.9 {
                srv(rng, false)
            } else {
                inv.host(rng, AssetRole::DomainController, false)
            };
            let u = if chance(rng, 0.55) {
                inv.user(rng, UserRole::Admin)
            } else {
                inv.person(rng)
            };
            (h, u, When::Work(if quiet { 0.8 } else { 0.5 }))
        }
        Category::Exfiltration | Category::C2Beacon | Category::PortScan => {
            let share = match cat {
                Category::Exfiltration => 0.7,
                Category::C2Beacon => 0.75,
                _ => 0.6,
            };
            let h = if x < share {
                ws(rng, false)
            } else {
                srv(rng, false)
            };
            let when = match cat {
                Category::C2Beacon => When::Any,
                _ if quiet => When::Work(0.9),
                _ => When::Work(0.4),
            };
            (h, own(inv, h), when)
        }
        Category::Ransomware => {
            let h = if x < 0.7 {
                ws(rng, true)
            } else {
                srv(rng, true)
            };
            (h, own(inv, h), When::Work(if quiet { 0.7 } else { 0.3 }))
        }
        Category::Benign => (0, 0, When::Any),
    }
}

fn brute_force(rng: &mut Rng, e: &mut Event, quiet: bool) {
    if quiet {
        e[FailedLogins] += int(rng, 3, 10); // a few guesses per window from a domestic VPS
        e[DistinctSourceIps] += poisson(rng, 0.5);
        e[GeoDistanceKm] = lognormal(rng, 80.0, 1.2);
    } else {
        let failed = lognormal(rng, 250.0, 1.0).max(25.0).round();
        e[FailedLogins] += failed;
        e[DistinctSourceIps] += int(rng, 0, 3);
        e[GeoDistanceKm] = uniform(rng, 1500.0, 9500.0);
        e[Connections] += failed * 0.8;
        e[BytesIn] += failed * 2_500.0;
    }
    if chance(rng, 0.12) {
        e[SuccessfulLogins] += 1.0; // the guess worked
        e[MfaFailures] += int(rng, 0, 3);
    }
}

fn password_spray(rng: &mut Rng, e: &mut Event, quiet: bool) {
    if quiet {
        e[FailedLogins] += int(rng, 1, 2);
        e[SourceFanoutAccounts] = int(rng, 4, 14); // slow spray through residential proxies
        e[DistinctSourceIps] += int(rng, 0, 2);
        e[GeoDistanceKm] = lognormal(rng, 100.0, 1.0);
    } else {
        e[FailedLogins] += int(rng, 1, 3);
        e[SourceFanoutAccounts] = lognormal(rng, 120.0, 0.8).max(25.0);
        e[DistinctSourceIps] += int(rng, 1, 8);
        e[GeoDistanceKm] = uniform(rng, 800.0, 9500.0);
    }
    e[MfaFailures] += poisson(rng, 0.3);
    if chance(rng, 0.08) {
        e[SuccessfulLogins] += 1.0;
    }
}

fn lateral_movement(rng: &mut Rng, e: &mut Event, quiet: bool, windows: bool) {
    if quiet {
        e[PrivilegedLogon] = if chance(rng, 0.8) { 1.0 } else { 0.0 };
        e[SmbSessions] += int(rng, 1, 3);
        e[DistinctDstHosts] += int(rng, 1, 3);
        e.raise(ParentChildRarity, uniform(rng, 0.35, 0.7));
        e[RareProcessCount] += poisson(rng, 0.7);
        e[SuccessfulLogins] += int(rng, 1, 2);
        if windows && chance(rng, 0.15) {
            e[EncodedPowershell] += 1.0;
        }
    } else {
        e[PrivilegedLogon] = 1.0;
        e[SmbSessions] += int(rng, 3, 25);
        e[DistinctDstHosts] += int(rng, 4, 40);
        e[DistinctDstPorts] += int(rng, 2, 5);
        if chance(rng, 0.65) {
            e[LsassAccess] += int(rng, 1, 3);
        }
        if windows && chance(rng, 0.5) {
            e[EncodedPowershell] += int(rng, 1, 6);
        }
        e.raise(ParentChildRarity, uniform(rng, 0.7, 0.99));
        e[RareProcessCount] += int(rng, 1, 5);
        e[SuccessfulLogins] += int(rng, 2, 10);
        e[CmdlineEntropy] += 0.6;
    }
}

fn exfiltration(rng: &mut Rng, e: &mut Event, quiet: bool) {
    if quiet {
        e[BytesOut] += lognormal(rng, 2.0e7, 0.7); // a cloud-storage upload in office hours
        e[DistinctDstHosts] += 1.0;
    } else if chance(rng, 0.33) {
        e[DnsQueries] += lognormal(rng, 5000.0, 0.7); // DNS tunnel
        e[DnsEntropy] = uniform(rng, 4.0, 5.2);
        e[BytesOut] += lognormal(rng, 2.0e7, 0.6);
    } else {
        e[BytesOut] += lognormal(rng, 8.0e8, 0.9);
        e[DistinctDstHosts] += 1.0;
        e[Connections] += int(rng, 5, 40);
    }
}

fn c2_beacon(rng: &mut Rng, e: &mut Event, quiet: bool) {
    if quiet {
        e[BeaconRegularity] = uniform(rng, 0.62, 0.86); // jittered sleep
        e[Connections] += int(rng, 4, 20);
        if chance(rng, 0.3) {
            e[UnsignedBinaries] += 1.0;
        }
        if chance(rng, 0.5) {
            e[RareProcessCount] += 1.0;
        }
    } else {
        e[BeaconRegularity] = uniform(rng, 0.88, 0.995);
        e[Connections] += int(rng, 15, 120);
        if chance(rng, 0.5) {
            e[DnsEntropy] += uniform(rng, 0.4, 1.6); // generated domains
        }
        e[RareProcessCount] += 1.0;
        if chance(rng, 0.6) {
            e[UnsignedBinaries] += 1.0;
        }
        e.raise(ParentChildRarity, uniform(rng, 0.6, 0.95));
        e[BytesOut] += lognormal(rng, 2.0e5, 0.8);
        e[DistinctDstHosts] += int(rng, 1, 2);
    }
}

fn port_scan(rng: &mut Rng, e: &mut Event, quiet: bool) {
    if quiet {
        e[DistinctDstPorts] += int(rng, 6, 25); // a few common ports on a few neighbours
        e[DistinctDstHosts] += int(rng, 2, 10);
        e[Connections] += int(rng, 10, 100);
    } else if chance(rng, 0.3) {
        e[DistinctDstHosts] += lognormal(rng, 300.0, 0.7).max(80.0); // host sweep
        e[DistinctDstPorts] += int(rng, 1, 5);
        e[Connections] += e[DistinctDstHosts] * uniform(rng, 1.0, 3.0);
    } else {
        let ports = lognormal(rng, 800.0, 1.0).max(100.0);
        e[DistinctDstPorts] += ports;
        e[DistinctDstHosts] += lognormal(rng, 60.0, 1.0);
        e[Connections] += ports * uniform(rng, 1.0, 3.0);
        e[BytesOut] += ports * 120.0;
    }
}

fn ransomware(rng: &mut Rng, e: &mut Event, quiet: bool) {
    if quiet {
        e[FileRenameRate] += uniform(rng, 1.5, 8.0); // slow encryption of one share
        e[FilesWritten] += int(rng, 50, 400);
        e[SmbSessions] += int(rng, 0, 3);
    } else {
        e[FileRenameRate] = lognormal(rng, 400.0, 1.0).max(40.0);
        e[FilesWritten] += lognormal(rng, 8000.0, 0.8);
        if chance(rng, 0.85) {
            e[ShadowCopyDelete] = int(rng, 1, 3);
        }
        e[SmbSessions] += int(rng, 10, 60);
        e[DistinctDstHosts] += int(rng, 10, 50);
        if chance(rng, 0.4) {
            e[EncodedPowershell] += int(rng, 1, 2);
        }
        e[ProcessStarts] *= 1.3;
        e[CmdlineEntropy] += 0.5;
        if chance(rng, 0.5) {
            e[UnsignedBinaries] += 1.0;
        }
        e[BytesOut] += lognormal(rng, 5.0e8, 0.8); // rewriting files on shares
    }
}
