//! The `hearth` command line.

use crate::{
    Application, Error, Settings,
    config::LogFormat,
    db::Database,
    service::{
        Context, Urls,
        accounts::{self, Handle, NewUser, Role},
        audit::{self, Acting, Verdict},
        groups::{self, NewGroup},
        instance,
        policy::{self, BlockRequest, Change, Changed},
        registration,
    },
};
use clap::{Parser, Subcommand, ValueEnum};
use hearth_federation::policy::{Mode, Severity, canonical_host};
use std::{
    io::{BufRead, IsTerminal, Write},
    path::PathBuf,
};

/// Hearth: patient support groups on the Fediverse, run by a clinic.
#[derive(Debug, Parser)]
#[command(name = "hearth", version, about)]
pub struct Cli {
    /// Settings file (TOML). Default: `hearth.toml` in the working directory, if present.
    #[arg(long, global = true, env = "HEARTH_CONFIG")]
    pub config: Option<PathBuf>,
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the server (creating and migrating the database on first start).
    Serve {
        /// What this process does: all, web (HTTP only) or worker (deliveries and timed work,
        /// no HTTP); web and worker need PostgreSQL. Default: `HEARTH_ROLE`, else all.
        #[arg(long, value_enum)]
        role: Option<crate::config::ServeRole>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage support groups.
    #[command(subcommand)]
    Group(GroupCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Invite people to sign up.
    #[command(subcommand)]
    Invite(InviteCommand),
    /// See and steer the delivery queue.
    #[command(subcommand)]
    Federation(FederationCommand),
    /// Check and read the audit log of admin and moderator acts.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Moderation: reports.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Write a backup of this SQLite instance, database and media, into one archive FILE,
    /// while it runs (on PostgreSQL, use pg_dump; media in an S3 bucket stay in the bucket).
    Backup {
        /// The archive to write (a new file; a `.tar.gz`).
        file: PathBuf,
    },
    /// Restore a backup FILE into this instance's empty data directory, then migrate it.
    Restore {
        /// The archive `hearth backup` wrote.
        file: PathBuf,
    },
    /// Move the database to another engine.
    #[command(subcommand)]
    Db(DbCommand),
}

/// `hearth db ...`
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Copy this SQLite instance, every table, into an empty PostgreSQL database, then check
    /// the rows per table. Stop the instance first: what it writes after the copy's snapshot
    /// stays behind.
    Copy {
        /// `postgres://USER:PASSWORD@HOST:PORT/DB`, an empty database.
        #[arg(long)]
        to: String,
    },
}

// --- Moderation commands (`hearth admin report ...`) -------------------------------------

/// `hearth admin ...`
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Read and resolve the reports people filed.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Suspend, limit or sensitize a local account, or lift it.
    #[command(subcommand)]
    Account(AccountCommand),
    /// The crisis resources text a person reported in a `crisis` report is sent.
    #[command(subcommand, name = "crisis-resources")]
    CrisisResources(CrisisCommand),
    /// Show or set whom this instance federates with: `open`, `blocklist` (all but blocked
    /// domains) or `allowlist` (only allowed domains).
    #[command(name = "federation-mode")]
    FederationMode {
        /// The mode to set; shown when omitted.
        #[arg(value_enum)]
        mode: Option<ModeArg>,
        /// Show the domain blocks to anyone at `/api/v1/instance/domain_blocks` (`true`) or
        /// to nobody (`false`).
        #[arg(long)]
        public_list: Option<bool>,
        /// Why, for the audit log.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Domain rules: allow, suspend, silence, reject media or reports, remove, list, import,
    /// export.
    #[command(subcommand)]
    Domain(DomainCommand),
    /// Verify a local person as a clinician, or take it back: their profile then shows it,
    /// here and, signed by this clinic, on the servers that trust it.
    #[command(subcommand)]
    Clinician(ClinicianCommand),
    /// Publish a clinic announcement to everyone here, list them, or withdraw one.
    #[command(subcommand)]
    Announcement(AnnouncementCommand),
}

/// `hearth admin announcement ...`
#[derive(Debug, Subcommand)]
pub enum AnnouncementCommand {
    /// Publish one: shown in every app and page, and heard at once on every person's stream.
    Publish {
        /// The text (a blank line starts a new paragraph).
        #[arg(long)]
        text: String,
        /// Also post it into every local group, pinned, so the groups' members on other
        /// servers see it too.
        #[arg(long)]
        urgent: bool,
        /// When what it announces starts (RFC 3339).
        #[arg(long)]
        starts_at: Option<chrono::DateTime<chrono::Utc>>,
        /// When it ends (RFC 3339); it is no longer shown after.
        #[arg(long)]
        ends_at: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// List every announcement, newest first.
    List,
    /// Withdraw one, by id.
    Withdraw {
        /// Its id.
        id: i64,
    },
}

/// `hearth admin clinician ...`
#[derive(Debug, Subcommand)]
pub enum ClinicianCommand {
    /// Verify NAME as a clinician holding a credential ("Registered nurse, diabetes care").
    Verify {
        /// The account's handle.
        name: String,
        /// What the clinic verified, one line.
        #[arg(long)]
        credential: String,
    },
    /// Take NAME's verification away.
    Revoke(AccountArgs),
}

/// A federation mode.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ModeArg {
    /// Federate with every server.
    Open,
    /// Federate with every server but blocked domains.
    Blocklist,
    /// Federate only with allowed domains (a closed network of trusted clinics).
    Allowlist,
}

impl From<ModeArg> for Mode {
    fn from(mode: ModeArg) -> Self {
        match mode {
            ModeArg::Open => Mode::Open,
            ModeArg::Blocklist => Mode::Blocklist,
            ModeArg::Allowlist => Mode::Allowlist,
        }
    }
}

/// `hearth admin domain ...`
#[derive(Debug, Subcommand)]
pub enum DomainCommand {
    /// Allow a domain (in force in allowlist mode).
    Allow(DomainArgs),
    /// No federation at all with a domain and its subdomains: its accounts, posts, follows
    /// and memberships stored here are removed and its deliveries dropped.
    Suspend(DomainArgs),
    /// Keep a domain's content out of public timelines, search and discovery.
    Silence(DomainArgs),
    /// Do not fetch or show a domain's media (added to its rule, if it has one).
    RejectMedia(DomainArgs),
    /// Ignore a domain's reports (added to its rule, if it has one).
    RejectReports(DomainArgs),
    /// Remove a domain's block and allow.
    Remove(DomainArgs),
    /// List the mode and every rule.
    List,
    /// Import blocks from Mastodon's domain-block CSV (`-` for standard input).
    Import {
        /// The file.
        file: PathBuf,
    },
    /// Export the blocks as Mastodon's domain-block CSV (`-` for standard output).
    Export {
        /// The file.
        file: PathBuf,
    },
}

/// The domain a rule is about, and why.
#[derive(Debug, clap::Args)]
pub struct DomainArgs {
    /// `host` or `host:port`; covers its subdomains.
    pub host: String,
    /// Why, for the audit log (and, with `--public`, for the public list).
    #[arg(long)]
    pub reason: Option<String>,
    /// Show the reason in the public list of blocks.
    #[arg(long)]
    pub public: bool,
}

/// `hearth admin crisis-resources ...`
#[derive(Debug, Subcommand)]
pub enum CrisisCommand {
    /// Print the text (and when it was set).
    Show,
    /// Set the text, from a file (`-` for standard input) or with `--text`; a blank text
    /// clears it.
    Set {
        /// A file holding the text.
        #[arg(conflicts_with = "text", required_unless_present = "text")]
        file: Option<std::path::PathBuf>,
        /// The text itself.
        #[arg(long)]
        text: Option<String>,
    },
}

/// `hearth admin account ...`
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Sign the account out everywhere, refuse its sign-ins, delete it on other servers.
    Suspend(AccountArgs),
    /// Lift a suspension (other servers get the account's document again).
    Unsuspend(AccountArgs),
    /// Limit the account.
    Limit(AccountArgs),
    /// Lift a limit.
    Unlimit(AccountArgs),
    /// Show the account's posts, old and new, as sensitive.
    Sensitive(AccountArgs),
    /// Lift that.
    Unsensitive(AccountArgs),
}

/// The account acted on, and why.
#[derive(Debug, clap::Args)]
pub struct AccountArgs {
    /// The account's handle.
    pub name: String,
    /// Why, for the audit log.
    #[arg(long)]
    pub reason: Option<String>,
}

/// `hearth admin report ...`
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// The open reports, `crisis` first, then the newest.
    List {
        /// Resolved reports instead.
        #[arg(long)]
        resolved: bool,
        /// How many at most.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// One report, whole.
    Show {
        /// The report's id.
        id: i64,
    },
    /// Mark a report resolved.
    Resolve {
        /// The report's id.
        id: i64,
        /// What was decided, for the record.
        #[arg(long)]
        note: Option<String>,
    },
    /// Open a resolved report again.
    Reopen {
        /// The report's id.
        id: i64,
    },
}

// --- End of moderation commands ----------------------------------------------------------

/// `hearth audit ...`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain: names the first entry changed, removed or moved, and fails then.
    Verify,
    /// List entries, the newest first.
    List {
        /// Only this action (e.g. `account.approve`, `group.member_ban`).
        #[arg(long)]
        action: Option<String>,
        /// Only acts by this handle (`console` for the command line).
        #[arg(long)]
        actor: Option<String>,
        /// How many entries at most.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

/// `hearth federation ...`
#[derive(Debug, Subcommand)]
pub enum FederationCommand {
    /// List the servers with deliveries waiting: counts, failures, next attempt, last error.
    Status,
    /// Make every delivery to HOST due now.
    Retry {
        /// `host[:port]`.
        host: String,
    },
    /// Drop every delivery waiting for HOST.
    Drop {
        /// `host[:port]`.
        host: String,
    },
}

/// `hearth user ...`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account. The password is asked for twice, or read from stdin.
    Create {
        /// Handle: letters, digits, underscores.
        name: String,
        /// Display name (defaults to the handle).
        #[arg(long)]
        display_name: Option<String>,
        /// What the account may do.
        #[arg(long, value_enum, default_value_t = RoleArg::Member)]
        role: RoleArg,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the accounts waiting for a moderator's approval, with the reason each gave.
    Pending,
    /// Approve an account waiting for approval: it can then sign in and be found.
    Approve {
        /// The account's handle.
        name: String,
    },
    /// Reject an account waiting for approval: it is deleted and its handle freed.
    Reject {
        /// The account's handle.
        name: String,
    },
    /// Write everything an account owns to FILE, a ZIP archive like Mastodon's (its posts,
    /// images, follows, blocks, mutes, likes and bookmarks), for its owner to take.
    Export {
        /// The account's handle.
        name: String,
        /// Where to write the archive.
        file: std::path::PathBuf,
    },
    /// Delete an account at its owner's request: everything of theirs is erased here, the
    /// servers that knew them are told, and the handle stays taken for a while
    /// (`retired_handle_days`).
    Delete {
        /// The account's handle.
        name: String,
    },
}

/// `hearth invite ...`
#[derive(Debug, Subcommand)]
pub enum InviteCommand {
    /// Make an invite code (alone on stdout); the sign-up link is printed on stderr.
    Create {
        /// How many accounts it may make (default: any number).
        #[arg(long)]
        max_uses: Option<u32>,
        /// Days until it expires (default: never).
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
}

/// `hearth group ...`
#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Create a support group.
    Create {
        /// Handle: letters, digits, underscores.
        handle: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Plain-text description.
        #[arg(long, default_value = "")]
        description: String,
        /// Who can see its posts: `public` or `members_only`.
        #[arg(long, default_value = "public")]
        visibility: String,
        /// How people join: `open` or `approval` (members-only groups always use approval).
        #[arg(long = "join", default_value = "open")]
        join_policy: String,
        /// The owning account's handle (a local person), who moderates it.
        #[arg(long)]
        owner: Option<String>,
    },
}

/// `hearth token ...`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print a new bearer token for an account (alone on stdout, for scripts).
    Create {
        /// The account's handle.
        name: String,
    },
}

/// Roles as the command line spells them.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    /// Runs the instance.
    Admin,
    /// Handles reports and moderates groups.
    Moderator,
    /// A verified clinician.
    Clinician,
    /// A patient or carer.
    Member,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Admin => Role::Admin,
            RoleArg::Moderator => Role::Moderator,
            RoleArg::Clinician => Role::Clinician,
            RoleArg::Member => Role::Member,
        }
    }
}

/// The `hearth` program: reads the command line, logs to stderr, runs, and turns an error
/// into a message and a failing exit code.
pub async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // HEARTH_LOG takes `tracing` filter syntax, e.g. `debug` or `info,hearth_federation=debug`.
    let filter = tracing_subscriber::EnvFilter::try_from_env("HEARTH_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,tower_http=warn,activitypub_federation=warn")
    });
    // Settings first: they say how to log.
    let settings = Settings::load(cli.config.clone());
    let format = settings.as_ref().map_or(LogFormat::Text, |s| s.log_format);
    crate::logging::init(filter, format);
    let result = match settings {
        Ok(settings) => run_with(settings, cli.command).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Runs a parsed command line. Output for people goes to stderr; stdout carries only what
/// scripts read (a token).
pub async fn run(cli: Cli) -> Result<(), Error> {
    run_with(Settings::load(cli.config)?, cli.command).await
}

/// Runs `command` (`serve` when `None`) with settings already loaded.
async fn run_with(settings: Settings, command: Option<Command>) -> Result<(), Error> {
    match command.unwrap_or(Command::Serve { role: None }) {
        Command::Serve { role } => {
            let mut settings = settings;
            if let Some(role) = role {
                settings.role = role;
                settings.validate()?;
            }
            serve(settings).await
        }
        Command::Migrate => {
            let db = open(&settings).await?;
            eprintln!("database {} is up to date", db.describe());
            Ok(())
        }
        Command::User(UserCommand::Create {
            name,
            display_name,
            role,
            password_stdin,
        }) => {
            let handle = Handle::parse(&name)?;
            let password = read_password(password_stdin)?;
            let ctx = open_context(&settings).await?;
            let urls = ctx.urls.clone();
            let row = accounts::create_user(
                &ctx,
                &Acting::Console,
                NewUser {
                    handle,
                    display_name,
                    role: role.into(),
                },
                password,
            )
            .await?;
            eprintln!(
                "created {} @{}@{} ({})",
                Role::from(role),
                row.username,
                urls.domain(),
                row.ap_id
            );
            Ok(())
        }
        Command::User(UserCommand::Pending) => {
            let db = open(&settings).await?;
            let list = registration::accounts(&db, &Acting::Console, Some(true)).await?;
            let mut out = std::io::stdout().lock();
            let mut write =
                |line: String| writeln!(out, "{line}").map_err(|e| Error::Internal(e.to_string()));
            if list.is_empty() {
                return write("no accounts waiting for approval".into());
            }
            for (actor, user) in list {
                write(format!(
                    "{}\t{}\t{}",
                    actor.username,
                    user.created_at.format("%Y-%m-%d %H:%M UTC"),
                    user.sign_up_reason
                        .unwrap_or_default()
                        .replace(['\n', '\r', '\t'], " ")
                ))?;
            }
            Ok(())
        }
        Command::User(UserCommand::Approve { name }) => {
            let handle = Handle::parse(&name)?;
            let ctx = open_context(&settings).await?;
            let id = registration::account_id(&ctx.db, &handle).await?;
            let (actor, _) = registration::approve(&ctx, &Acting::Console, id).await?;
            eprintln!("approved @{}", actor.username);
            Ok(())
        }
        Command::User(UserCommand::Reject { name }) => {
            let handle = Handle::parse(&name)?;
            let ctx = open_context(&settings).await?;
            let id = registration::account_id(&ctx.db, &handle).await?;
            let (actor, _) = registration::reject(&ctx, &Acting::Console, id).await?;
            eprintln!("rejected and deleted @{}", actor.username);
            Ok(())
        }
        Command::User(UserCommand::Export { name, file }) => {
            let handle = Handle::parse(&name)?;
            let ctx = open_context(&settings).await?;
            let files = crate::service::media_files::MediaFiles::open(&settings.media_storage()?)?;
            let media = crate::service::media::MediaStore::new(files, settings.media_max_bytes);
            let id = registration::account_id(&ctx.db, &handle).await?;
            let size = export_command(&ctx, &media, id, &file).await?;
            eprintln!(
                "wrote the export of @{} to {} ({size} bytes)",
                handle.as_str(),
                file.display(),
            );
            Ok(())
        }
        Command::User(UserCommand::Delete { name }) => {
            let handle = Handle::parse(&name)?;
            let ctx = open_context(&settings).await?;
            let files = crate::service::media_files::MediaFiles::open(&settings.media_storage()?)?;
            let media = crate::service::media::MediaStore::new(files, settings.media_max_bytes);
            let told = crate::service::account_deletion::delete_account(
                &ctx,
                &media,
                &Acting::Console,
                handle.as_str(),
            )
            .await?;
            eprintln!(
                "deleted @{}; {told} servers that knew them will be told by the running server",
                handle.as_str()
            );
            Ok(())
        }
        Command::Invite(InviteCommand::Create {
            max_uses,
            expires_in_days,
        }) => {
            let ctx = open_context(&settings).await?;
            let invite =
                registration::create_invite(&ctx, &Acting::Console, max_uses, expires_in_days)
                    .await?;
            let mut link = ctx.urls.path("/auth/sign_up");
            link.query_pairs_mut().append_pair("invite", &invite.code);
            let uses = max_uses.map_or("any number of".to_owned(), |n| n.to_string());
            let until = invite
                .invite
                .expires_at
                .map_or("never expires".to_owned(), |at| {
                    format!("expires {}", at.format("%Y-%m-%d %H:%M UTC"))
                });
            eprintln!("invite for {uses} sign-ups, {until}; link: {link}");
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", invite.code).map_err(|e| Error::Internal(e.to_string()))
        }
        Command::Group(GroupCommand::Create {
            handle,
            name,
            description,
            visibility,
            join_policy,
            owner,
        }) => {
            let handle = Handle::parse(&handle)?;
            let visibility = visibility.parse()?;
            let join_policy = join_policy.parse()?;
            let ctx = open_context(&settings).await?;
            let owner = match owner {
                Some(owner) => Some(local_person(&ctx.db, &owner).await?.id),
                None => None,
            };
            let new = NewGroup {
                handle,
                display_name: name,
                description,
                visibility,
                join_policy,
                owner,
                rules: Vec::new(),
            };
            let row = groups::create_group(&ctx, &Acting::Console, new).await?;
            eprintln!(
                "created group @{}@{} ({})",
                row.username,
                ctx.urls.domain(),
                row.ap_id
            );
            Ok(())
        }
        Command::Backup { file } => backup_command(&settings, &file).await,
        Command::Restore { file } => restore_command(&settings, &file).await,
        Command::Db(DbCommand::Copy { to }) => db_copy_command(&settings, &to).await,
        Command::Federation(command) => federation(&settings, command).await,
        Command::Audit(command) => audit_command(&settings, command).await,
        Command::Admin(AdminCommand::Report(command)) => report_command(&settings, command).await,
        Command::Admin(AdminCommand::Account(command)) => {
            use crate::service::moderation::{self, AccountAction};
            let (action, args) = match command {
                AccountCommand::Suspend(args) => (AccountAction::Suspend, args),
                AccountCommand::Unsuspend(args) => (AccountAction::Unsuspend, args),
                AccountCommand::Limit(args) => (AccountAction::Limit, args),
                AccountCommand::Unlimit(args) => (AccountAction::Unlimit, args),
                AccountCommand::Sensitive(args) => (AccountAction::Sensitive, args),
                AccountCommand::Unsensitive(args) => (AccountAction::Unsensitive, args),
            };
            let handle = Handle::parse(&args.name)?;
            let ctx = open_context(&settings).await?;
            let id = registration::account_id(&ctx.db, &handle).await?;
            let (actor, user) =
                moderation::act_on_account(&ctx, &Acting::Console, id, action, args.reason).await?;
            let standing = match (user.suspended_at, user.limited_at) {
                (Some(_), _) => "suspended",
                (None, Some(_)) => "limited",
                (None, None) => "in good standing",
            };
            let sensitized = if user.sensitized_at.is_some() {
                ", its posts shown as sensitive"
            } else {
                ""
            };
            eprintln!("@{} is {standing}{sensitized}", actor.username);
            Ok(())
        }
        Command::Admin(AdminCommand::Clinician(command)) => {
            use crate::service::clinicians;
            let ctx = open_context(&settings).await?;
            let (name, verified) = match command {
                ClinicianCommand::Verify { name, credential } => {
                    let id = registration::account_id(&ctx.db, &Handle::parse(&name)?).await?;
                    clinicians::verify(&ctx, &Acting::Console, id, &credential).await?;
                    (name, true)
                }
                ClinicianCommand::Revoke(args) => {
                    let id = registration::account_id(&ctx.db, &Handle::parse(&args.name)?).await?;
                    clinicians::revoke(&ctx, &Acting::Console, id, args.reason).await?;
                    (args.name, false)
                }
            };
            eprintln!(
                "@{name} is {}",
                if verified {
                    "a verified clinician"
                } else {
                    "no longer a verified clinician"
                }
            );
            Ok(())
        }
        Command::Admin(AdminCommand::Announcement(command)) => {
            announcement_command(&settings, command).await
        }
        Command::Admin(AdminCommand::CrisisResources(command)) => {
            crisis_command(&settings, command).await
        }
        Command::Admin(AdminCommand::FederationMode {
            mode,
            public_list,
            reason,
        }) => federation_mode(&settings, mode, public_list, reason).await,
        Command::Admin(AdminCommand::Domain(command)) => domain_command(&settings, command).await,
        Command::Token(TokenCommand::Create { name }) => {
            let handle = Handle::parse(&name)?;
            let ctx = open_context(&settings).await?;
            let token = accounts::create_token(&ctx, &Acting::Console, &handle).await?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "{token}").map_err(|e| Error::Internal(e.to_string()))?;
            Ok(())
        }
    }
}

/// `hearth admin announcement ...`.
async fn announcement_command(
    settings: &Settings,
    command: AnnouncementCommand,
) -> Result<(), Error> {
    use crate::service::announcements::{self, NewAnnouncement};
    let ctx = open_context(settings).await?;
    match command {
        AnnouncementCommand::Publish {
            text,
            urgent,
            starts_at,
            ends_at,
        } => {
            let new = NewAnnouncement {
                text,
                starts_at: starts_at.map(|t| t.naive_utc()),
                ends_at: ends_at.map(|t| t.naive_utc()),
                all_day: false,
                urgent,
            };
            let row = announcements::publish(&ctx, &Acting::Console, new).await?;
            eprintln!(
                "published announcement {}{}",
                row.id,
                if row.urgent {
                    ", urgent: posted and pinned in every group"
                } else {
                    ""
                }
            );
        }
        AnnouncementCommand::List => {
            let mut out = std::io::stdout().lock();
            for row in ctx
                .db
                .run(|conn| Ok(crate::db::announcements::all(conn)?))
                .await?
            {
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}",
                    row.id,
                    row.published_at,
                    if row.urgent { "urgent" } else { "-" },
                    crate::service::content::html_to_text(&row.content).replace('\n', " ")
                )
                .map_err(|e| Error::Internal(e.to_string()))?;
            }
        }
        AnnouncementCommand::Withdraw { id } => {
            announcements::withdraw(&ctx, &Acting::Console, id).await?;
            eprintln!("withdrew announcement {id}");
        }
    }
    Ok(())
}

/// A progress bar on stderr when it is a terminal (hidden otherwise: logs and scripts get
/// the summary lines only), counting bytes, or things named by `unit`.
fn progress_bar(unit: &str) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let template = if unit == "bytes" {
        "{msg:18} [{bar:40}] {bytes}/{total_bytes} {eta}".to_owned()
    } else {
        format!("{{msg:24}} [{{bar:40}}] {{human_pos}}/{{human_len}} {unit} {{eta}}")
    };
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&template)
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}

/// Writes `person_id`'s archive to `path` (whole or not at all: it is written beside it, then
/// renamed), with a progress bar on a terminal; returns its size.
async fn export_command(
    ctx: &Context,
    media: &crate::service::media::MediaStore,
    person_id: i64,
    path: &std::path::Path,
) -> Result<u64, Error> {
    use crate::service::export;
    let cannot = |e: &dyn std::fmt::Display| {
        Error::Operation(format!("cannot write {}: {e}", path.display()))
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let temporary = tempfile::NamedTempFile::new_in(dir).map_err(|e| cannot(&e))?;
    let into = temporary.as_file().try_clone().map_err(|e| cannot(&e))?;
    let (progress, mut moved) = tokio::sync::watch::channel(export::Progress::default());
    let bar = progress_bar("items");
    bar.set_message("writing the archive");
    let shown = {
        let bar = bar.clone();
        tokio::spawn(async move {
            while moved.changed().await.is_ok() {
                let export::Progress { done, total } = *moved.borrow_and_update();
                bar.set_length(total);
                bar.set_position(done);
            }
        })
    };
    let written = export::write_archive(ctx, media, person_id, into, &progress).await;
    drop(progress);
    let _ = shown.await;
    bar.finish_and_clear();
    let (_, size) = written?;
    temporary.persist(path).map_err(|e| cannot(&e))?;
    Ok(size)
}

async fn backup_command(settings: &Settings, file: &std::path::Path) -> Result<(), Error> {
    use crate::service::backup;
    let started = std::time::Instant::now();
    let manifest = backup::backup(settings, file, progress_bar("bytes")).await?;
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "backed up {} ({} posts, {} accounts, {} media files) into {} ({} bytes) in {:.1} s; \
         schema {}",
        settings.domain,
        manifest.tables.get("posts").copied().unwrap_or(0),
        manifest.tables.get("users").copied().unwrap_or(0),
        manifest.media_files,
        file.display(),
        size,
        started.elapsed().as_secs_f64(),
        manifest.schema_version
    );
    if let Some(bucket) = &manifest.media_bucket {
        eprintln!(
            "note: media are kept in the S3 bucket {bucket} and are not in this archive: back \
             the bucket up with the provider's versioning or replication"
        );
    }
    Ok(())
}

async fn restore_command(settings: &Settings, file: &std::path::Path) -> Result<(), Error> {
    use crate::service::backup;
    let restored = backup::restore(settings, file, progress_bar("bytes")).await?;
    let manifest = &restored.manifest;
    eprintln!(
        "restored the backup of {} taken {} (Hearth {}, {} posts, {} media files) into {}{}",
        manifest.domain,
        manifest.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
        manifest.hearth_version,
        manifest.tables.get("posts").copied().unwrap_or(0),
        manifest.media_files,
        restored.database.display(),
        if restored.migrated.is_empty() {
            String::new()
        } else {
            format!("; migrated forward: {}", restored.migrated.join(", "))
        }
    );
    if manifest.domain != settings.domain {
        eprintln!(
            "warning: the backup is of {}, but HEARTH_DOMAIN is {}: other servers know this \
             instance's accounts by the domain they were made with",
            manifest.domain, settings.domain
        );
    }
    if let Some(bucket) = &manifest.media_bucket {
        eprintln!(
            "note: the backup's media were kept in the S3 bucket {bucket}, not in the archive: \
             they are restored with the bucket (its versioning or replica)"
        );
    }
    if manifest.media_files > 0
        && let Ok(crate::config::MediaStorage::S3(s3)) = settings.media_storage()
    {
        eprintln!(
            "note: the archive's media files went to {}, but this instance keeps media in the \
             S3 bucket {} (under \"{}/\"): copy them into it (aws s3 sync, mc mirror, \
             rclone...) before starting",
            settings.media_dir().display(),
            s3.bucket,
            s3.prefix
        );
    }
    Ok(())
}

async fn db_copy_command(settings: &Settings, to: &str) -> Result<(), Error> {
    use crate::service::backup;
    let started = std::time::Instant::now();
    let counts = backup::copy_to_postgres(settings, to, progress_bar("rows")).await?;
    let width = counts
        .iter()
        .map(|c| c.table.len())
        .max()
        .unwrap_or(5)
        .max(5);
    say(format!(
        "{:width$}  {:>10}  {:>10}",
        "table", "sqlite", "postgresql"
    ))?;
    for count in &counts {
        say(format!(
            "{:width$}  {:>10}  {:>10}",
            count.table, count.source, count.target
        ))?;
    }
    let rows: i64 = counts.iter().map(|c| c.source).sum();
    eprintln!(
        "copied {rows} rows in {} tables in {:.1} s; every table's rows match. Start Hearth on \
         it with HEARTH_DATABASE_URL set to that database (keep HEARTH_DATA_DIR: the media \
         stay there).",
        counts.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn crisis_command(settings: &Settings, command: CrisisCommand) -> Result<(), Error> {
    use crate::service::settings as instance_settings;
    let ctx = open_context(settings).await?;
    let set = match command {
        CrisisCommand::Show => instance_settings::crisis_resources(&ctx, &Acting::Console).await?,
        CrisisCommand::Set { file, text } => {
            let text = match (text, file) {
                (Some(text), _) => text,
                (None, Some(path)) => read_input(&path)?,
                (None, None) => {
                    return Err(Error::Unprocessable("give a FILE or --text".into()));
                }
            };
            instance_settings::set_crisis_resources(&ctx, &Acting::Console, text).await?
        }
    };
    let mut out = std::io::stdout().lock();
    match set {
        Some(set) => writeln!(out, "{}", set.value),
        None => writeln!(out, "no crisis resources set"),
    }
    .map_err(|e| Error::Internal(e.to_string()))
}

/// Prints a line on standard output.
fn say(line: impl std::fmt::Display) -> Result<(), Error> {
    writeln!(std::io::stdout().lock(), "{line}").map_err(|e| Error::Internal(e.to_string()))
}

/// Waits until every process sharing the database applies a policy change, so that what the
/// command reports is in force everywhere when it returns.
async fn settle() {
    tokio::time::sleep(policy::SETTLES_WITHIN).await;
}

async fn federation_mode(
    settings: &Settings,
    mode: Option<ModeArg>,
    public_list: Option<bool>,
    reason: Option<String>,
) -> Result<(), Error> {
    let ctx = open_context(settings).await?;
    let by = Acting::Console;
    if let Some(mode) = mode {
        policy::change(&ctx, &by, Change::Mode(mode.into()), reason.clone()).await?;
    }
    if let Some(public) = public_list {
        policy::change(&ctx, &by, Change::PublicList(public), reason).await?;
    }
    if mode.is_some() || public_list.is_some() {
        settle().await;
    }
    let overview = policy::overview(&ctx, &by).await?;
    say(format!(
        "federation mode: {} ({} domain blocks, {} allowed domains; block list {})",
        overview.mode(),
        overview.blocks.len(),
        overview.allows.len(),
        if overview.settings.public_list {
            "public"
        } else {
            "hidden"
        }
    ))
}

async fn domain_command(settings: &Settings, command: DomainCommand) -> Result<(), Error> {
    let ctx = open_context(settings).await?;
    let by = Acting::Console;
    match command {
        DomainCommand::Allow(args) => {
            policy::change(&ctx, &by, Change::Allow(args.host), args.reason).await?;
            settle().await;
            let overview = policy::overview(&ctx, &by).await?;
            say(format!(
                "allowed; mode {}{}",
                overview.mode(),
                if overview.mode() == Mode::Allowlist {
                    ""
                } else {
                    " (allows take effect in allowlist mode)"
                }
            ))
        }
        DomainCommand::Suspend(args) => {
            set_block(&ctx, args, |r| r.severity = Severity::Suspend).await
        }
        DomainCommand::Silence(args) => {
            set_block(&ctx, args, |r| r.severity = Severity::Silence).await
        }
        DomainCommand::RejectMedia(args) => set_block(&ctx, args, |r| r.reject_media = true).await,
        DomainCommand::RejectReports(args) => {
            set_block(&ctx, args, |r| r.reject_reports = true).await
        }
        DomainCommand::Remove(args) => {
            let overview = policy::overview(&ctx, &by).await?;
            let domain = canonical_host(&args.host);
            let blocked = overview.blocks.iter().any(|b| b.domain == domain);
            let allowed = overview.allows.iter().any(|a| a.domain == domain);
            if !blocked && !allowed {
                return Err(Error::not_found(format!("no rule for {domain}")));
            }
            if blocked {
                policy::change(
                    &ctx,
                    &by,
                    Change::Unblock(domain.clone()),
                    args.reason.clone(),
                )
                .await?;
            }
            if allowed {
                policy::change(&ctx, &by, Change::Unallow(domain.clone()), args.reason).await?;
            }
            settle().await;
            say(format!(
                "{domain}: {}removed",
                match (blocked, allowed) {
                    (true, true) => "block and allow ",
                    (true, false) => "block ",
                    _ => "allow ",
                }
            ))
        }
        DomainCommand::List => {
            let overview = policy::overview(&ctx, &by).await?;
            say(format!("mode: {}", overview.mode()))?;
            for b in &overview.blocks {
                let mut what = vec![b.severity.clone()];
                if b.reject_media {
                    what.push("reject media".into());
                }
                if b.reject_reports {
                    what.push("reject reports".into());
                }
                let comment = b.public_comment.as_deref().or(b.private_comment.as_deref());
                say(format!(
                    "blocked  {:<40} {}{}",
                    b.domain,
                    what.join(", "),
                    comment.map(|c| format!("  ({c})")).unwrap_or_default()
                ))?;
            }
            for a in &overview.allows {
                say(format!("allowed  {}", a.domain))?;
            }
            Ok(())
        }
        DomainCommand::Import { file } => {
            let text = read_input(&file)?;
            let count = policy::import(&ctx, &by, &text).await?;
            settle().await;
            say(format!("{count} domain blocks imported"))
        }
        DomainCommand::Export { file } => {
            let text = policy::export(&ctx, &by).await?;
            if file.as_os_str() == "-" {
                std::io::stdout()
                    .lock()
                    .write_all(text.as_bytes())
                    .map_err(|e| Error::Internal(e.to_string()))
            } else {
                std::fs::write(&file, text).map_err(|e| {
                    Error::Unprocessable(format!("cannot write {}: {e}", file.display()))
                })
            }
        }
    }
}

/// Saves a domain's block as `edit` changes it (its existing block, or a new `noop` one), the
/// reason as its public or private comment.
async fn set_block(
    ctx: &Context,
    args: DomainArgs,
    edit: fn(&mut BlockRequest),
) -> Result<(), Error> {
    let by = Acting::Console;
    let domain = canonical_host(&args.host);
    let existing = policy::overview(ctx, &by)
        .await?
        .blocks
        .into_iter()
        .find(|b| b.domain == domain);
    let mut request = existing.map_or_else(
        || BlockRequest {
            domain: args.host.clone(),
            severity: Severity::Noop,
            ..BlockRequest::default()
        },
        BlockRequest::from,
    );
    edit(&mut request);
    if args.public {
        request.public_comment = args.reason.clone();
    } else if args.reason.is_some() {
        request.private_comment = args.reason.clone();
    }
    let changed = policy::change(ctx, &by, Change::Block(request), args.reason).await?;
    settle().await;
    match changed {
        Changed::Blocked {
            block,
            mode,
            purged,
        } => say(format!(
            "{}: {}",
            block.domain,
            policy::describe_block(&block, mode, purged)
        )),
        other => Err(Error::Internal(format!("a block answered {other:?}"))),
    }
}

/// The text of a file, or of standard input for `-`.
fn read_input(path: &std::path::Path) -> Result<String, Error> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .map_err(|e| Error::Internal(format!("standard input: {e}")))?;
        return Ok(text);
    }
    std::fs::read_to_string(path)
        .map_err(|e| Error::Unprocessable(format!("cannot read {}: {e}", path.display())))
}

async fn federation(settings: &Settings, command: FederationCommand) -> Result<(), Error> {
    use crate::service::delivery::{self, QueueAction};
    let ctx = open_context(settings).await?;
    let mut out = std::io::stdout().lock();
    let write = |out: &mut std::io::StdoutLock<'_>, line: String| {
        writeln!(out, "{line}").map_err(|e| Error::Internal(e.to_string()))
    };
    match command {
        FederationCommand::Status => {
            let queues = delivery::queues(&ctx, &Acting::Console).await?;
            if queues.is_empty() {
                return write(&mut out, "no deliveries waiting".into());
            }
            let time = |t: chrono::NaiveDateTime| t.format("%Y-%m-%d %H:%M:%S").to_string();
            write(
                &mut out,
                format!(
                    "{:<32} {:<12} {:>8} {:>8}  {:<20} {:<20} {:<24} last error",
                    "host",
                    "software",
                    "pending",
                    "failures",
                    "next attempt (UTC)",
                    "oldest (UTC)",
                    "state"
                ),
            )?;
            for q in queues {
                let state = match (q.unreachable_since, q.failing_since) {
                    (Some(since), _) => format!("unreachable since {}", time(since)),
                    (None, Some(since)) => format!("failing since {}", time(since)),
                    (None, None) => "ok".into(),
                };
                write(
                    &mut out,
                    format!(
                        "{:<32} {:<12} {:>8} {:>8}  {:<20} {:<20} {:<24} {}",
                        q.host,
                        q.software.as_deref().unwrap_or("?"),
                        q.pending,
                        q.failures,
                        time(q.next_attempt_at),
                        q.oldest.map(time).unwrap_or_default(),
                        state,
                        q.last_error.unwrap_or_default()
                    ),
                )?;
            }
            Ok(())
        }
        FederationCommand::Retry { host } => {
            let n = delivery::steer_queue(&ctx, &Acting::Console, host, QueueAction::Retry).await?;
            write(
                &mut out,
                format!("{n} deliveries due now (a running server sends them within seconds)"),
            )
        }
        FederationCommand::Drop { host } => {
            let n = delivery::steer_queue(&ctx, &Acting::Console, host, QueueAction::Drop).await?;
            write(&mut out, format!("{n} deliveries dropped"))
        }
    }
}

async fn local_person(db: &Database, handle: &str) -> Result<crate::db::actors::ActorRow, Error> {
    let handle = Handle::parse(handle)?;
    db.run(move |conn| {
        Ok(crate::db::actors::local_by_username(
            conn,
            handle.as_str(),
            Some(hearth_federation::protocol::actor::ActorKind::Person),
        )?)
    })
    .await?
    .ok_or_else(|| Error::not_found("the owner must be a local person"))
}

async fn open(settings: &Settings) -> Result<Database, Error> {
    let db = Database::connect(&settings.database_url(), settings.database_pool_size)?;
    db.migrate().await?;
    Ok(db)
}

/// The services' context for a command that acts (as the console).
async fn open_context(settings: &Settings) -> Result<Context, Error> {
    let db = open(settings).await?;
    let urls = Urls::new(settings)?;
    instance::ensure_instance_actor(&db, &urls).await?;
    Ok(Context::new(db, urls, settings))
}

async fn report_command(settings: &Settings, command: ReportCommand) -> Result<(), Error> {
    use crate::service::reports;
    let ctx = open_context(settings).await?;
    let by = Acting::Console;
    let shown = match command {
        ReportCommand::List { resolved, limit } => {
            reports::queue(&ctx, &by, resolved, i64::from(limit)).await?
        }
        ReportCommand::Show { id } => vec![reports::show(&ctx, &by, id).await?],
        ReportCommand::Resolve { id, note } => vec![reports::resolve(&ctx, &by, id, note).await?],
        ReportCommand::Reopen { id } => vec![reports::reopen(&ctx, &by, id).await?],
    };
    let mut out = std::io::stdout().lock();
    if shown.is_empty() {
        return writeln!(out, "no reports").map_err(|e| Error::Internal(e.to_string()));
    }
    for report in shown {
        let row = &report.row;
        let state = match row.action_taken_at {
            Some(at) => format!("resolved {}", at.format("%Y-%m-%d %H:%M UTC")),
            None => "open".into(),
        };
        let who = if report.target.local {
            format!("@{}", report.target.username)
        } else {
            format!("@{}@{}", report.target.username, report.target.domain)
        };
        writeln!(
            out,
            "{}\t{}\t{}\t{}\t{} posts\t{}\t{}",
            row.id,
            row.created_at.format("%Y-%m-%d %H:%M UTC"),
            row.category,
            who,
            report.post_ids.len(),
            state,
            row.comment.replace(['\n', '\r', '\t'], " ")
        )
        .map_err(|e| Error::Internal(e.to_string()))?;
    }
    Ok(())
}

async fn audit_command(settings: &Settings, command: AuditCommand) -> Result<(), Error> {
    let db = open(settings).await?;
    let mut out = std::io::stdout().lock();
    let mut write =
        |line: String| writeln!(out, "{line}").map_err(|e| Error::Internal(e.to_string()));
    match command {
        AuditCommand::Verify => match audit::verify(&db).await? {
            Verdict::Intact { entries, head_hash } => write(format!(
                "audit log intact: {entries} entries, last hash {head_hash}"
            )),
            Verdict::Broken { id, problem } => Err(Error::Unprocessable(format!(
                "the audit log is broken at entry {id}: {problem}"
            ))),
        },
        AuditCommand::List {
            action,
            actor,
            limit,
        } => {
            let filter = crate::db::audit::Filter {
                action,
                actor_name: actor.map(|a| a.trim_start_matches('@').to_ascii_lowercase()),
            };
            let page = crate::db::posts::Page {
                max_id: None,
                since_id: None,
                min_id: None,
                limit: i64::from(limit.max(1)),
            };
            let rows = audit::list(&db, &Acting::Console, filter, page).await?;
            if rows.is_empty() {
                return write("no entries".into());
            }
            for row in rows {
                let clean = |s: &str| s.replace(['\n', '\r', '\t'], " ");
                write(format!(
                    "{}\t{}\t{} ({})\t{}\t{} {} {}\t{}\t{}",
                    row.id,
                    row.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
                    row.actor_name,
                    row.actor_role,
                    row.action,
                    row.target_kind,
                    row.target_id,
                    clean(&row.target_name),
                    clean(&row.detail),
                    clean(row.reason.as_deref().unwrap_or_default()),
                ))?;
            }
            Ok(())
        }
    }
}

fn read_password(from_stdin: bool) -> Result<String, Error> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| Error::BadRequest(format!("reading the password from stdin: {e}")))?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_owned());
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::BadRequest(
            "no terminal to ask for a password: pass --password-stdin and pipe it in".into(),
        ));
    }
    let first =
        rpassword::prompt_password("Password: ").map_err(|e| Error::BadRequest(e.to_string()))?;
    let second = rpassword::prompt_password("Password again: ")
        .map_err(|e| Error::BadRequest(e.to_string()))?;
    if first != second {
        return Err(Error::BadRequest("the two passwords differ".into()));
    }
    Ok(first)
}

async fn serve(settings: Settings) -> Result<(), Error> {
    let app = Application::build(settings.clone()).await?;
    let stats = instance::stats(&app.state().db).await?;
    match app.local_addr()? {
        Some(addr) => eprintln!(
            "Hearth {} listening on http://{addr}, public address {}://{}, database {}",
            env!("CARGO_PKG_VERSION"),
            settings.scheme(),
            settings.domain,
            app.state().db.describe()
        ),
        None => eprintln!(
            "Hearth {} worker for {}: delivering and running timed work, database {}",
            env!("CARGO_PKG_VERSION"),
            settings.domain,
            app.state().db.describe()
        ),
    }
    if let Some(metrics) = app.metrics_addr() {
        eprintln!("Metrics on http://{metrics}/metrics (no token: keep this address private)");
    }
    if stats.admins == 0 {
        eprintln!(
            "No admin yet. Create one with:\n  hearth user create NAME --role admin\n\
             (or `cargo run --release -- user create NAME --role admin`)"
        );
    }
    app.run_until(shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = terminate => {} }
    tracing::info!("shutting down");
}
