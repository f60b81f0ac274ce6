//! Deployment (`docker/`), checked without a container engine: the compose files parse and run
//! the services they promise, every `HEARTH_*` variable the deployment files name is one that
//! `server/src/config.rs` reads, every file they point at exists, and the READMEs build the
//! image with the Dockerfile's own command and start compose files that are there.

use saphyr::{LoadableYamlNode, YamlOwned};
use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

/// The compose files, from the repository root.
const COMPOSE_FILES: [&str; 3] = [
    "docker/compose.yaml",
    "docker/compose.sqlite.yaml",
    "docker/federation/compose.yaml",
];

/// The deployment files, whose every `HEARTH_*` name must be a variable Hearth reads.
const DEPLOYMENT_FILES: [&str; 7] = [
    "docker/Dockerfile",
    "docker/compose.yaml",
    "docker/compose.sqlite.yaml",
    "docker/federation/compose.yaml",
    "docker/Caddyfile",
    "docker/nginx.conf.example",
    "docker/README.md",
];

/// The repository root (the tests crate is one of its directories).
fn repo() -> PathBuf {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR"));
    tests
        .parent()
        .unwrap_or_else(|| panic!("{} has no parent directory", tests.display()))
        .to_path_buf()
}

/// A file of the repository, as text.
fn read(relative: &str) -> String {
    let path = repo().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn canonical(path: &Path) -> PathBuf {
    path.canonicalize()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `HEARTH_*` variable `server/src/config.rs` knows: `HEARTH_` and the name of each field
/// of `Settings` in capitals (as figment's `Env::prefixed("HEARTH_")` reads them), and the
/// variables it leaves to the command line and the tests (`.ignore(&[...])`: `HEARTH_CONFIG`,
/// `HEARTH_LOG`...).
fn hearth_variables() -> BTreeSet<String> {
    let config = read("server/src/config.rs");
    assert!(
        config.contains(r#"Env::prefixed("HEARTH_")"#),
        "config.rs no longer reads HEARTH_ + the field name: change this test with it"
    );
    let Some((_, after)) = config.split_once("pub struct Settings {") else {
        panic!("config.rs has no `pub struct Settings`");
    };
    let Some((fields, _)) = after.split_once("\n}") else {
        panic!("config.rs: `pub struct Settings` has no end");
    };
    assert!(
        !fields.contains("rename"),
        "a field of Settings is renamed for serde: its variable is no longer its name"
    );
    let mut names: BTreeSet<String> = fields
        .lines()
        .filter_map(|line| line.trim().strip_prefix("pub "))
        .filter_map(|field| field.split_once(':'))
        .map(|(name, _)| format!("HEARTH_{}", name.trim().to_ascii_uppercase()))
        .collect();
    let Some((_, ignored)) = config.split_once(".ignore(&[") else {
        panic!("config.rs: no list of the variables it leaves to others");
    };
    let Some((ignored, _)) = ignored.split_once("])") else {
        panic!("config.rs: the list of ignored variables has no end");
    };
    names.extend(
        ignored
            .split(',')
            .map(|name| name.trim().trim_matches('"'))
            .filter(|name| !name.is_empty())
            .map(|name| format!("HEARTH_{}", name.to_ascii_uppercase())),
    );
    for expected in [
        "HEARTH_DOMAIN",
        "HEARTH_BIND",
        "HEARTH_DATA_DIR",
        "HEARTH_DATABASE_URL",
        "HEARTH_LOOPBACK_FEDERATION",
        "HEARTH_CONFIG",
    ] {
        assert!(
            names.contains(expected),
            "reading config.rs found no {expected}, only {names:?}"
        );
    }
    names
}

/// The `HEARTH_*` names in a text: keys, `${...}` interpolations and comments alike.
fn hearth_names(text: &str) -> BTreeSet<String> {
    text.match_indices("HEARTH_")
        .map(|(at, prefix)| {
            let rest = &text[at + prefix.len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .filter(|suffix| !suffix.is_empty())
        .map(|suffix| format!("HEARTH_{suffix}"))
        .collect()
}

/// A scalar as text (compose accepts numbers and booleans where it means strings).
fn text_of(node: &YamlOwned) -> Option<String> {
    if let Some(text) = node.as_str() {
        return Some(text.to_owned());
    }
    if let Some(flag) = node.as_bool() {
        return Some(flag.to_string());
    }
    if let Some(number) = node.as_integer() {
        return Some(number.to_string());
    }
    node.is_null().then(String::new)
}

/// The scalars of a list (`ports`, `volumes`, `extra_hosts`...), as text.
fn strings(node: Option<&YamlOwned>) -> Vec<String> {
    node.and_then(YamlOwned::as_vec)
        .into_iter()
        .flatten()
        .filter_map(text_of)
        .collect()
}

/// A service's `environment`, in either of compose's forms (mapping or `KEY=VALUE` list).
fn environment(service: &YamlOwned) -> BTreeMap<String, String> {
    let mut variables = BTreeMap::new();
    let Some(node) = service.as_mapping_get("environment") else {
        return variables;
    };
    if let Some(mapping) = node.as_mapping() {
        for (key, value) in mapping.iter() {
            let key = text_of(key).unwrap_or_else(|| panic!("a variable name is not text"));
            variables.insert(key, text_of(value).unwrap_or_default());
        }
    }
    for item in strings(Some(node)) {
        let (key, value) = item.split_once('=').unwrap_or((item.as_str(), ""));
        variables.insert(key.to_owned(), value.to_owned());
    }
    variables
}

/// The condition under which `service` starts after `dependency`, if it depends on it.
fn dependency_condition(service: &YamlOwned, dependency: &str) -> Option<String> {
    let dependencies = service.as_mapping_get("depends_on")?;
    if let Some(list) = dependencies.as_vec() {
        return list
            .iter()
            .any(|d| d.as_str() == Some(dependency))
            .then(|| "service_started".to_owned());
    }
    let entry = dependencies.as_mapping_get(dependency)?;
    Some(
        entry
            .as_mapping_get("condition")
            .and_then(text_of)
            .unwrap_or_else(|| "service_started".to_owned()),
    )
}

/// `host` and `port` of a `host:port` domain.
fn host_and_port(domain: &str) -> (&str, &str) {
    domain
        .rsplit_once(':')
        .unwrap_or_else(|| panic!("the domain {domain} has no port"))
}

/// A compose file, parsed.
#[derive(Debug)]
struct Compose {
    path: &'static str,
    doc: YamlOwned,
}

impl Compose {
    fn load(path: &'static str) -> Self {
        let text = read(path);
        let mut docs =
            YamlOwned::load_from_str(&text).unwrap_or_else(|e| panic!("{path} is not YAML: {e}"));
        assert_eq!(docs.len(), 1, "{path} should hold one YAML document");
        let doc = docs.remove(0);
        assert!(doc.is_mapping(), "{path} is not a mapping");
        Self { path, doc }
    }

    /// The directory relative paths in the file start from.
    fn dir(&self) -> PathBuf {
        let file = repo().join(self.path);
        file.parent()
            .unwrap_or_else(|| panic!("{} has no directory", file.display()))
            .to_path_buf()
    }

    fn services(&self) -> Vec<(String, &YamlOwned)> {
        let Some(services) = self
            .doc
            .as_mapping_get("services")
            .and_then(YamlOwned::as_mapping)
        else {
            panic!("{} has no services", self.path);
        };
        services
            .iter()
            .map(|(name, service)| {
                let name = text_of(name)
                    .unwrap_or_else(|| panic!("{}: a service name is not text", self.path));
                (name, service)
            })
            .collect()
    }

    fn service(&self, name: &str) -> &YamlOwned {
        self.doc
            .as_mapping_get("services")
            .and_then(|services| services.as_mapping_get(name))
            .unwrap_or_else(|| panic!("{} has no service {name}", self.path))
    }

    fn environment(&self, service: &str) -> BTreeMap<String, String> {
        environment(self.service(service))
    }

    /// Asserts that `service` starts only once `database` (PostgreSQL) answers its healthcheck.
    fn assert_waits_for_healthy(&self, service: &str, database: &str) {
        let test = strings(
            self.service(database)
                .as_mapping_get("healthcheck")
                .and_then(|check| check.as_mapping_get("test")),
        );
        assert!(
            test.iter().any(|word| word == "pg_isready"),
            "{}: {database} has no pg_isready healthcheck: {test:?}",
            self.path
        );
        assert_eq!(
            dependency_condition(self.service(service), database).as_deref(),
            Some("service_healthy"),
            "{}: {service} does not wait for {database} to be healthy",
            self.path
        );
    }
}

/// The Dockerfile's instructions: keyword (in capitals) and arguments, continuation lines
/// joined, comments left out.
fn dockerfile() -> Vec<(String, String)> {
    let text = read("docker/Dockerfile");
    let mut instructions = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(head) = line.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
            continue;
        }
        current.push_str(line);
        let (keyword, rest) = current
            .split_once(char::is_whitespace)
            .unwrap_or((current.as_str(), ""));
        instructions.push((keyword.to_ascii_uppercase(), rest.trim().to_owned()));
        current.clear();
    }
    instructions
}

/// The arguments of every `keyword` instruction, in order.
fn arguments<'a>(instructions: &'a [(String, String)], keyword: &str) -> Vec<&'a str> {
    instructions
        .iter()
        .filter(|(k, _)| k == keyword)
        .map(|(_, arguments)| arguments.as_str())
        .collect()
}

/// The variables the image sets (`ENV KEY=VALUE ...`).
fn image_environment(instructions: &[(String, String)]) -> BTreeMap<String, String> {
    arguments(instructions, "ENV")
        .into_iter()
        .flat_map(str::split_whitespace)
        .filter_map(|pair| pair.split_once('='))
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect()
}

/// The files under `dir`, hidden ones (and those in hidden directories) left out.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .path();
            if path
                .file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with('.'))
            {
                continue;
            }
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

/// Whether some source file of the server holds `needle`.
fn server_source_contains(needle: &str) -> bool {
    files_under(&repo().join("server/src"))
        .into_iter()
        .any(|path| {
            path.extension().is_some_and(|e| e == "rs")
                && std::fs::read_to_string(path).is_ok_and(|text| text.contains(needle))
        })
}

/// The files under `docker/`, relative to it, hidden files left out.
fn docker_files() -> BTreeSet<String> {
    let base = repo().join("docker");
    files_under(&base)
        .iter()
        .filter_map(|path| path.strip_prefix(&base).ok())
        .map(|relative| relative.to_string_lossy().replace('\\', "/"))
        .collect()
}

#[test]
fn every_compose_file_parses_and_runs_the_services_it_promises() {
    let expected: [(&str, &[&str]); 3] = [
        ("docker/compose.yaml", &["caddy", "hearth", "postgres"]),
        ("docker/compose.sqlite.yaml", &["hearth"]),
        (
            "docker/federation/compose.yaml",
            &["clinic-a", "clinic-b", "postgres-a", "postgres-b"],
        ),
    ];
    assert_eq!(expected.map(|(path, _)| path), COMPOSE_FILES);
    let image = image_environment(&dockerfile());
    let Some(data_dir) = image.get("HEARTH_DATA_DIR") else {
        panic!("the image sets no HEARTH_DATA_DIR");
    };
    for (path, services) in expected {
        let compose = Compose::load(path);
        let names: BTreeSet<String> = compose
            .services()
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        let wanted: BTreeSet<String> = services.iter().map(|name| (*name).to_owned()).collect();
        assert_eq!(names, wanted, "{path}");

        // Every service built from the Dockerfile runs Hearth: its data outlives the container,
        // and it has the time it takes to stop gracefully.
        for (name, service) in compose.services() {
            if service.as_mapping_get("build").is_none() {
                continue;
            }
            let mounts = strings(service.as_mapping_get("volumes"));
            assert!(
                mounts
                    .iter()
                    .any(|mount| mount.ends_with(&format!(":{data_dir}"))),
                "{path}: {name} keeps no volume at the image's data directory {data_dir}: {mounts:?}"
            );
            assert!(
                service.as_mapping_get("stop_grace_period").is_some(),
                "{path}: {name} has Docker's 10 s to stop, less than Hearth's grace period"
            );
        }
    }
}

#[test]
fn one_clinic_runs_behind_caddy_and_starts_once_postgresql_is_healthy() {
    let compose = Compose::load("docker/compose.yaml");
    let hearth = compose.service("hearth");
    assert!(
        hearth.as_mapping_get("ports").is_none(),
        "Hearth is published directly; only Caddy should be"
    );
    let caddy = compose.service("caddy");
    assert_eq!(
        caddy.as_mapping_get("image").and_then(text_of).as_deref(),
        Some("caddy:2")
    );
    let published = strings(caddy.as_mapping_get("ports"));
    for port in ["80:80", "443:443"] {
        assert!(
            published.iter().any(|p| p == port),
            "Caddy does not publish {port}: {published:?}"
        );
    }
    let mounts = strings(caddy.as_mapping_get("volumes"));
    assert!(
        mounts
            .iter()
            .any(|mount| mount.starts_with("./Caddyfile:/etc/caddy/Caddyfile")),
        "Caddy does not get docker/Caddyfile: {mounts:?}"
    );

    // Caddy serves Hearth's domain and forwards to the port Hearth listens on.
    let caddyfile = read("docker/Caddyfile");
    assert!(caddyfile.contains("{$HEARTH_DOMAIN} {"), "{caddyfile}");
    assert!(
        caddyfile.contains("reverse_proxy hearth:8080"),
        "{caddyfile}"
    );
    let env = compose.environment("hearth");
    let image = image_environment(&dockerfile());
    let bind = env.get("HEARTH_BIND").or(image.get("HEARTH_BIND"));
    assert!(
        bind.is_some_and(|bind| bind.ends_with(":8080")),
        "Hearth listens on {bind:?}, Caddy forwards to port 8080"
    );
    let domain = env.get("HEARTH_DOMAIN").cloned().unwrap_or_default();
    assert!(
        domain.contains("${HEARTH_DOMAIN:?"),
        "HEARTH_DOMAIN must be required, not defaulted: {domain}"
    );
    assert_eq!(
        compose.environment("caddy").get("HEARTH_DOMAIN"),
        Some(&domain),
        "Caddy's site and Hearth's domain differ"
    );

    // The password is required from the environment, never written in the file.
    let url = env.get("HEARTH_DATABASE_URL").cloned().unwrap_or_default();
    assert!(
        url.starts_with("postgres://")
            && url.contains("${POSTGRES_PASSWORD:?")
            && url.contains("@postgres:5432/"),
        "{url}"
    );
    let password = compose
        .environment("postgres")
        .get("POSTGRES_PASSWORD")
        .cloned()
        .unwrap_or_default();
    assert!(password.starts_with("${POSTGRES_PASSWORD:?"), "{password}");
    compose.assert_waits_for_healthy("hearth", "postgres");
}

#[test]
fn two_clinics_federate_with_each_other_on_a_private_network_and_nothing_else() {
    let compose = Compose::load("docker/federation/compose.yaml");
    let clinics = compose
        .doc
        .as_mapping_get("networks")
        .and_then(|networks| networks.as_mapping_get("clinics"))
        .unwrap_or_else(|| panic!("no network `clinics`"));
    let subnets: Vec<String> = clinics
        .as_mapping_get("ipam")
        .and_then(|ipam| ipam.as_mapping_get("config"))
        .and_then(YamlOwned::as_vec)
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.as_mapping_get("subnet").and_then(text_of))
        .collect();
    assert_eq!(
        subnets.len(),
        1,
        "the clinics' network has one subnet: {subnets:?}"
    );
    let subnet = &subnets[0];
    let a = compose.environment("clinic-a");
    let b = compose.environment("clinic-b");
    for (name, env, database) in [
        ("clinic-a", &a, "postgres-a"),
        ("clinic-b", &b, "postgres-b"),
    ] {
        // Federation closed to the clinics' network: plain http, its addresses only.
        assert_eq!(
            env.get("HEARTH_PRIVATE_FEDERATION_NETWORKS").cloned(),
            Some(format!(r#"["{subnet}"]"#)),
            "{name}"
        );
        assert!(!env.contains_key("HEARTH_LOOPBACK_FEDERATION"), "{name}");
        let url = env.get("HEARTH_DATABASE_URL").cloned().unwrap_or_default();
        assert!(
            url.contains(&format!("@{database}:5432/")),
            "{name} does not use its own database: {url}"
        );
        compose.assert_waits_for_healthy(name, database);
        assert!(
            compose.service(database).as_mapping_get("ports").is_none(),
            "{database} is published"
        );
        // The database shares no network with the other clinic.
        let database_networks = strings(compose.service(database).as_mapping_get("networks"));
        assert!(
            !database_networks.is_empty() && !database_networks.contains(&"clinics".to_owned()),
            "{database} is on the clinics' network: {database_networks:?}"
        );
        // No proxy in between: each listens on the port of its domain, reachable under its
        // domain's host on the clinics' network, and published on the host's loopback only.
        let domain = env.get("HEARTH_DOMAIN").cloned().unwrap_or_default();
        let (host, port) = host_and_port(&domain);
        let bind = env.get("HEARTH_BIND").cloned().unwrap_or_default();
        assert!(
            bind.ends_with(&format!(":{port}")),
            "{name} is {domain} but listens on {bind}"
        );
        let service = compose.service(name);
        let aliases = strings(
            service
                .as_mapping_get("networks")
                .and_then(|networks| networks.as_mapping_get("clinics"))
                .and_then(|clinics| clinics.as_mapping_get("aliases")),
        );
        assert_eq!(
            aliases,
            [host],
            "{name} is not {host} on the clinics' network"
        );
        assert_eq!(
            strings(service.as_mapping_get("ports")),
            [format!("127.0.0.1:{port}:{port}")],
            "{name}"
        );
        assert!(service.as_mapping_get("network_mode").is_none(), "{name}");
    }
    assert_ne!(a.get("HEARTH_DOMAIN"), b.get("HEARTH_DOMAIN"));
}

#[test]
fn every_hearth_variable_the_deployment_files_name_is_one_config_rs_reads() {
    let known = hearth_variables();
    let mut named = BTreeSet::new();
    let mut unknown = Vec::new();
    for path in DEPLOYMENT_FILES {
        for name in hearth_names(&read(path)) {
            if !known.contains(&name) {
                unknown.push(format!("{path}: {name}"));
            }
            named.insert(name);
        }
    }
    assert!(
        unknown.is_empty(),
        "not variables of server/src/config.rs: {unknown:?}"
    );
    for name in [
        "HEARTH_DOMAIN",
        "HEARTH_BIND",
        "HEARTH_DATA_DIR",
        "HEARTH_DATABASE_URL",
        "HEARTH_PRIVATE_FEDERATION_NETWORKS",
    ] {
        assert!(named.contains(name), "no deployment file names {name}");
    }
}

#[test]
fn the_image_is_small_unprivileged_and_checks_readiness() {
    let instructions = dockerfile();
    assert!(
        arguments(&instructions, "FROM").len() >= 2,
        "the Dockerfile is no longer multi-stage"
    );
    let users = arguments(&instructions, "USER");
    let Some(user) = users.last() else {
        panic!("the image runs as root");
    };
    assert!(
        !["root", "0", "0:0", "root:root"].contains(user),
        "the image runs as {user}"
    );
    for key in image_environment(&instructions).keys() {
        assert!(
            key.starts_with("HEARTH_"),
            "the image sets {key}: it is configured by HEARTH_* variables only"
        );
    }
    let checks = arguments(&instructions, "HEALTHCHECK");
    assert_eq!(checks.len(), 1, "{checks:?}");
    assert!(checks[0].contains("/readyz"), "{}", checks[0]);
    assert!(
        server_source_contains(r#""/readyz""#),
        "the healthcheck asks /readyz, which the server no longer routes"
    );
}

#[test]
fn every_file_the_deployment_files_point_at_exists() {
    let root = repo();

    // The Dockerfile's COPY sources, in the build context (the repository root).
    let instructions = dockerfile();
    let ignored: Vec<String> = read(".dockerignore")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect();
    let mut copied = BTreeSet::new();
    for copy in arguments(&instructions, "COPY") {
        let words: Vec<&str> = copy.split_whitespace().collect();
        if words.iter().any(|word| word.starts_with("--from")) {
            continue;
        }
        let paths: Vec<&str> = words
            .into_iter()
            .filter(|word| !word.starts_with("--"))
            .collect();
        let Some((_destination, sources)) = paths.split_last() else {
            panic!("COPY {copy}: no destination");
        };
        assert!(!sources.is_empty(), "COPY {copy}: no source");
        for source in sources {
            assert!(
                root.join(source).exists(),
                "the Dockerfile copies {source}, which is not in the repository"
            );
            let source = source.trim_end_matches('/');
            for pattern in &ignored {
                let plain = !pattern.contains(['*', '?', '[', '!']);
                let excluded = source == pattern || source.starts_with(&format!("{pattern}/"));
                assert!(
                    !(plain && excluded),
                    ".dockerignore leaves {source} out of the build context"
                );
            }
            copied.insert(source.to_owned());
        }
    }
    // cargo loads the whole workspace: every member must be in the image's sources.
    let manifest = read("Cargo.toml");
    let Some((_, members)) = manifest.split_once("\nmembers = [") else {
        panic!("Cargo.toml lists no workspace members");
    };
    let Some((members, _)) = members.split_once(']') else {
        panic!("Cargo.toml: the list of members has no end");
    };
    for member in members
        .split(',')
        .map(|member| member.trim().trim_matches('"'))
        .filter(|member| !member.is_empty())
    {
        assert!(
            copied.contains(member),
            "the Dockerfile does not copy the workspace member {member}"
        );
    }

    // What the compose files build from and mount.
    for path in COMPOSE_FILES {
        let compose = Compose::load(path);
        let dir = compose.dir();
        for (name, service) in compose.services() {
            if let Some(build) = service.as_mapping_get("build") {
                let (context, dockerfile) = match build.as_str() {
                    Some(context) => (context.to_owned(), "Dockerfile".to_owned()),
                    None => (
                        build
                            .as_mapping_get("context")
                            .and_then(text_of)
                            .unwrap_or_else(|| ".".to_owned()),
                        build
                            .as_mapping_get("dockerfile")
                            .and_then(text_of)
                            .unwrap_or_else(|| "Dockerfile".to_owned()),
                    ),
                };
                let context = dir.join(context);
                assert_eq!(
                    canonical(&context),
                    canonical(&root),
                    "{path}: {name} is built from {}, not from the repository root that the \
                     Dockerfile copies from",
                    context.display()
                );
                assert!(
                    context.join(&dockerfile).is_file(),
                    "{path}: {name} is built with {dockerfile}, which does not exist"
                );
            }
            for volume in service
                .as_mapping_get("volumes")
                .and_then(YamlOwned::as_vec)
                .into_iter()
                .flatten()
            {
                let source = match volume.as_str() {
                    Some(short) => short.split(':').next().unwrap_or_default().to_owned(),
                    None if volume.as_mapping_get("type").and_then(YamlOwned::as_str)
                        == Some("bind") =>
                    {
                        volume
                            .as_mapping_get("source")
                            .and_then(text_of)
                            .unwrap_or_default()
                    }
                    None => continue,
                };
                if source == "." || source.starts_with("./") || source.starts_with("../") {
                    assert!(
                        dir.join(&source).exists(),
                        "{path}: {name} mounts {source}, which does not exist"
                    );
                }
            }
            let env_files = match service.as_mapping_get("env_file") {
                Some(file) if file.as_str().is_some() => text_of(file).into_iter().collect(),
                other => strings(other),
            };
            for file in env_files {
                assert!(
                    dir.join(&file).is_file(),
                    "{path}: {name} reads {file}, which does not exist"
                );
            }
        }
    }
}

#[test]
fn the_readmes_build_the_image_with_the_dockerfiles_command_and_start_files_that_exist() {
    let root = repo();
    let dockerfile = read("docker/Dockerfile");
    let Some(build) = dockerfile
        .lines()
        .filter_map(|line| line.strip_prefix('#'))
        .map(str::trim)
        .find(|line| line.starts_with("docker build "))
    else {
        panic!("the Dockerfile's comments show no `docker build` command");
    };
    assert!(build.contains("-f docker/Dockerfile"), "{build}");
    let guide = read("docker/README.md");
    assert!(
        guide.lines().any(|line| line.trim() == build),
        "docker/README.md does not build the image with the Dockerfile's command `{build}`"
    );

    let main = read("README.md");
    assert!(
        main.lines().any(|line| line.trim() == build),
        "README.md's Deploying section does not build the image with `{build}`"
    );
    for (readme, text) in [("README.md", &main), ("docker/README.md", &guide)] {
        for line in text
            .lines()
            .filter(|line| line.contains("docker build") || line.contains("docker compose"))
        {
            let command = line.trim();
            assert!(
                !command.starts_with("docker build ") || command == build,
                "{readme} builds the image otherwise than the Dockerfile says: {command}"
            );
            let words: Vec<&str> = command.split_whitespace().collect();
            for pair in words.windows(2) {
                if pair[0] != "-f" && pair[0] != "--file" {
                    continue;
                }
                let file = pair[1].trim_matches(|c: char| matches!(c, '`' | '(' | ')' | ',' | ';'));
                assert!(
                    root.join(file).is_file(),
                    "{readme}: `{command}` names {file}, which does not exist"
                );
            }
        }
    }
    for path in COMPOSE_FILES {
        assert!(
            guide.contains(&format!("docker compose -f {path} up")),
            "docker/README.md does not show how to start {path}"
        );
    }

    // Its table names each file of docker/, and only those.
    let table: BTreeSet<String> = guide
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|line| line.split_once('`'))
        .map(|(name, _)| name.to_owned())
        .collect();
    let mut files = docker_files();
    files.remove("README.md");
    assert_eq!(
        table, files,
        "docker/README.md's table of files and the files in docker/ differ"
    );
}
