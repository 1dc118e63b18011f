//! The columns of the generated files, what each means to an analyst, and the schema built
//! from them.
//!
//! Every numeric feature is declared once, in [`numeric_fields!`]: its enum variant (used by the
//! generators), column name, decimals written, telemetry source (which sensor outage blanks it)
//! and the `about`/`falsify` sentences that go into `schema.yaml`. Column order, schema order and
//! generator indices therefore cannot drift apart.

use arbiter_core::{
    ExtraColumns, FieldRole, FieldSpec, Format, LabelSpec, SCHEMA_FORMAT_VERSION, Schema,
    SourceSpec, TimeSpec,
};

/// Which telemetry pipeline a numeric feature comes from; an outage of that pipeline leaves the
/// feature missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// Authentication logs (domain controllers, identity provider, sshd/PAM).
    Auth,
    /// The host's EDR sensor: process and file events.
    Edr,
    /// Flow, proxy and DNS logs.
    Network,
}

/// One numeric column.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NumField {
    pub name: &'static str,
    /// Decimals written to the CSV; 0 for counts.
    pub decimals: usize,
    pub source: Source,
    pub about: &'static str,
    pub falsify: &'static str,
}

macro_rules! numeric_fields {
    ($($var:ident $name:literal $dec:literal $src:ident $about:literal $falsify:literal;)*) => {
        /// Index of a numeric feature in [`crate::event::Event`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Num { $($var),* }

        /// Every numeric feature, in column order.
        pub(crate) const NUMERIC: &[NumField] = &[$(NumField {
            name: $name,
            decimals: $dec,
            source: Source::$src,
            about: $about,
            falsify: $falsify,
        }),*];
    };
}

numeric_fields! {
    FailedLogins "failed_logins" 0 Auth
        "Failed authentication attempts against this account on this host in the 15-minute window."
        "Pull the raw authentication log (Windows 4625, sshd/PAM) for the window and read the failure reasons and sources: one known device mistyping is a typo, many sources or usernames is an attack.";
    SuccessfulLogins "successful_logins" 0 Auth
        "Successful authentications by this account on this host in the window."
        "List the successful logons (Windows 4624, sshd accepted) with logon type and source and confirm each with the account owner or a change ticket.";
    DistinctSourceIps "distinct_source_ips" 0 Auth
        "Distinct source IP addresses the window's authentications came from (0 when there were none)."
        "Resolve each source IP to an asset, VPN pool or known NAT and confirm whether it belongs to the user's own devices.";
    OffHours "off_hours" 0 Auth
        "1 when the window falls outside 08:00-18:00 UTC on a weekday, 0 otherwise."
        "Check the user's working pattern, on-call rota and the host's scheduled jobs for activity expected at that hour.";
    MfaFailures "mfa_failures" 0 Auth
        "Rejected or timed-out multi-factor prompts for this account in the window."
        "Pull the identity provider's MFA log for the window and ask the user whether they denied prompts they did not start.";
    GeoDistanceKm "geo_distance_km" 0 Auth
        "Distance in kilometres from the account's usual location to where the window's logons geolocate (0 for internal sources)."
        "Check the source IP against VPN, proxy and travel records and confirm with the user whether they were in that place.";
    PrivilegedLogon "privileged_logon" 0 Auth
        "1 when the window includes a logon with administrative rights (special privileges, sudo, a privileged group), 0 otherwise."
        "Confirm the account is meant to hold admin rights on this host and find the admin task or change ticket that explains the elevated logon.";
    SourceFanoutAccounts "source_fanout_accounts" 0 Auth
        "Distinct accounts that the window's source IPs tried to authenticate as across the whole environment."
        "List every account the source IPs tried: a NAT gateway or terminal server shared by known users explains fan-out, a list of unrelated or alphabetical usernames does not.";
    ProcessStarts "process_starts" 0 Edr
        "Processes started on the host by this account in the window, as counted by the EDR sensor."
        "Pull the EDR process list for the window and check whether the volume comes from a known build, update or login script.";
    RareProcessCount "rare_process_count" 0 Edr
        "Processes whose executable hash was seen on fewer than five hosts in the fleet over the last 30 days."
        "Look each rare hash up in the EDR and threat intelligence and confirm whether it is an internally built or newly deployed program.";
    EncodedPowershell "encoded_powershell" 0 Edr
        "PowerShell launches with an -EncodedCommand argument in the window."
        "Decode the base64 command lines from the EDR process events and confirm whether the script is a known admin or management-tool script and whether it actually ran.";
    UnsignedBinaries "unsigned_binaries" 0 Edr
        "Executables without a valid code signature that ran in the window."
        "Hash the unsigned executables, check where they were written from (build output, installer, browser download) and look up their reputation.";
    ParentChildRarity "parent_child_rarity" 3 Edr
        "How unusual the window's rarest parent-to-child process pair is in the fleet, from 0 (common) to 1 (never seen)."
        "Pull the EDR process tree for the rarest pair (e.g. Word spawning PowerShell, WMI spawning cmd) and confirm whether a legitimate tool explains it.";
    CmdlineEntropy "cmdline_entropy" 3 Edr
        "Mean Shannon entropy, in bits per character, of the window's command lines; obfuscated or encoded commands score high."
        "Read the highest-entropy command lines in the EDR and check whether they are hashes, paths or tokens of a known tool rather than obfuscation.";
    LsassAccess "lsass_access" 0 Edr
        "Times a process opened LSASS with memory-read rights in the window, a credential-dumping indicator."
        "Identify the accessing process in the EDR and confirm whether it is the security agent or a crash dumper rather than procdump, mimikatz or an unknown tool.";
    BytesOut "bytes_out" 0 Network
        "Bytes the host sent in the window, from flow logs."
        "Break the outbound bytes down by destination in the flow or proxy logs and confirm whether the largest destination is a sanctioned backup, sync or update service.";
    BytesIn "bytes_in" 0 Network
        "Bytes the host received in the window, from flow logs."
        "Break the inbound bytes down by source and confirm whether the large transfers are package downloads, restores or updates.";
    Connections "connections" 0 Network
        "Network connections the host opened in the window."
        "Group the window's connections in the flow logs by destination and port and check they match the host's known services.";
    DistinctDstPorts "distinct_dst_ports" 0 Network
        "Distinct destination ports the host connected to in the window."
        "List the ports and check whether they form a sequential or common-services sweep rather than the ports of applications known on this host.";
    DistinctDstHosts "distinct_dst_hosts" 0 Network
        "Distinct destination hosts the host connected to in the window."
        "List the destinations and check whether they are the host's usual servers or a sweep across a subnet.";
    DnsQueries "dns_queries" 0 Network
        "DNS queries the host made in the window."
        "Pull the resolver log for the host and check whether the volume is spread over normal domains or concentrated under one parent domain.";
    DnsEntropy "dns_entropy" 3 Network
        "Mean character entropy of the leftmost labels of the names the host queried; generated or tunnelled names score high."
        "Read the highest-entropy names in the DNS log and check whether they belong to CDNs or cloud services rather than one unknown domain with random subdomains.";
    BeaconRegularity "beacon_regularity" 3 Network
        "How periodic the host's connections to its most frequent external destination are, from 0 (irregular) to 1 (exact interval)."
        "Identify the periodic destination in the proxy or flow log and confirm whether it is a known agent, updater or monitoring service.";
    SmbSessions "smb_sessions" 0 Network
        "SMB sessions the host opened to other hosts in the window."
        "List the SMB sessions with target and share and check whether admin shares (ADMIN$, C$) were used outside a change window.";
    FilesWritten "files_written" 0 Edr
        "Files created or modified by this account on the host in the window, as counted by the EDR sensor."
        "Pull the EDR file events and check which process wrote the files and whether it is a build, sync or backup tool.";
    FileRenameRate "file_rename_rate" 2 Edr
        "File renames per minute, averaged over the window; mass encryption renames files quickly."
        "Sample the renamed files from the EDR file events and check for new extensions or unreadable contents, or a compiler or sync client that explains them.";
    ShadowCopyDelete "shadow_copy_delete" 0 Edr
        "Commands in the window that deleted volume shadow copies or backup catalogues (vssadmin, wmic shadowcopy, wbadmin)."
        "Find the deleting command line and its parent in the EDR and confirm whether a backup product or an admin change ticket explains it.";
}

/// Number of numeric features.
pub(crate) const N_NUM: usize = NUMERIC.len();

/// One categorical column.
pub(crate) struct CatField {
    pub name: &'static str,
    pub about: &'static str,
    pub falsify: &'static str,
}

/// Categorical features, in column order (written before the numeric ones).
pub(crate) const CATEGORICAL: &[CatField] = &[
    CatField {
        name: "os",
        about: "Operating system family of the host: windows, linux or macos.",
        falsify: "Look the host up in the asset inventory and confirm the operating system the sensor reported.",
    },
    CatField {
        name: "asset_role",
        about: "What the host is for according to the asset inventory: workstation, server, domain_controller, build_server, backup_server, scanner or vpn_gateway.",
        falsify: "Confirm the host's role with its owner or the CMDB, since a scanner or backup server that is really a workstation changes what behaviour is normal.",
    },
    CatField {
        name: "user_role",
        about: "The account's role in the directory: staff, developer, executive, admin or service (a non-human service account).",
        falsify: "Check the account's group memberships and owner in the directory; a service account used interactively or a staff account in admin groups breaks the premise.",
    },
    CatField {
        name: "sensor",
        about: "EDR sensor build on the host, which determines how process and file activity is counted.",
        falsify: "Confirm the sensor build in the EDR console and read its release notes for changes in what it counts before trusting a shift in process or file features.",
    },
];

/// Identifier columns written before the features, with their meaning.
const IDENTIFIERS: &[(&str, &str)] = &[
    ("alert_id", "Unique id of the generated alert window."),
    ("host", "Host name the window was observed on."),
    ("user", "Account name the window was observed for."),
];

/// The full header row, in file order.
pub(crate) fn header() -> Vec<&'static str> {
    let mut h = vec!["alert_id", "time", "host", "user"];
    h.extend(CATEGORICAL.iter().map(|c| c.name));
    h.extend(NUMERIC.iter().map(|n| n.name));
    h.push("label");
    h
}

/// Name of the schema every scenario writes; the field list is shared so a model trained on one
/// scenario can score another.
pub(crate) const SCHEMA_NAME: &str = "soc-synthetic";

/// The schema describing the generated files.
pub(crate) fn schema() -> Schema {
    let field = |name: &str, role: FieldRole, about: &str, falsify: &str| FieldSpec {
        name: name.to_string(),
        role,
        path: None,
        about: about.to_string(),
        falsify: falsify.to_string(),
    };
    let mut fields = vec![field(
        IDENTIFIERS[0].0,
        FieldRole::Identifier,
        IDENTIFIERS[0].1,
        "",
    )];
    fields.push(field(
        "time",
        FieldRole::Timestamp,
        "Start of the 15-minute window, UTC.",
        "",
    ));
    for (name, about) in &IDENTIFIERS[1..] {
        fields.push(field(name, FieldRole::Identifier, about, ""));
    }
    for c in CATEGORICAL {
        fields.push(field(c.name, FieldRole::Categorical, c.about, c.falsify));
    }
    for n in NUMERIC {
        fields.push(field(n.name, FieldRole::Numeric, n.about, n.falsify));
    }
    fields.push(field(
        "label",
        FieldRole::Label,
        "Ground truth: benign, or the attack category that produced the window (labels are exact; the generator knows the truth).",
        "",
    ));
    Schema {
        format_version: SCHEMA_FORMAT_VERSION,
        name: SCHEMA_NAME.to_string(),
        revision: 1,
        description: "SYNTHETIC data, not real telemetry: SOC alert windows (one host and account \
                      over 15 minutes) generated by Arbiter's built-in scenario generator \
                      (`arbiter generate`). Benign activity mixes office staff, developers, admins, \
                      servers, build and backup jobs, a vulnerability scanner and VPN logons; \
                      attacks are brute_force, password_spray, lateral_movement, exfiltration, \
                      c2_beacon and port_scan, with ransomware appearing only in test data as a \
                      category never seen in training. Results on this data show that the \
                      pipeline works, not how well it detects real attacks."
            .to_string(),
        synthetic: true,
        source: SourceSpec {
            format: Format::Csv,
            header: true,
            delimiter: ",".to_string(),
            missing: vec![String::new()],
            extra_columns: ExtraColumns::Error,
        },
        label: Some(LabelSpec {
            benign: vec!["benign".to_string()],
            categories: Default::default(),
        }),
        time: Some(TimeSpec {
            fields: vec!["time".to_string()],
            format: "rfc3339".to_string(),
        }),
        fields,
    }
}

/// `schema.yaml`: the schema with a comment saying it is synthetic.
pub(crate) fn schema_yaml() -> String {
    format!(
        "# SYNTHETIC: written by arbiter-scenario {}; describes generated data, not real telemetry.\n{}",
        env!("CARGO_PKG_VERSION"),
        schema().to_yaml()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_enum_and_the_table_agree_on_order() {
        assert_eq!(NUMERIC[Num::FailedLogins as usize].name, "failed_logins");
        assert_eq!(
            NUMERIC[Num::ShadowCopyDelete as usize].name,
            "shadow_copy_delete"
        );
        assert_eq!(N_NUM, Num::ShadowCopyDelete as usize + 1);
    }

    #[test]
    fn the_header_matches_the_schema_field_order() {
        let names: Vec<String> = schema().fields.into_iter().map(|f| f.name).collect();
        assert_eq!(names, header());
    }
}
