//! The arguments of `flightdeck admin`; the handler is `cli/bootstrap.rs`.

use std::path::PathBuf;

#[derive(Debug, clap::Subcommand)]
pub enum AdminCommand {
    /// Set up etcd for flightdeck: root, the controller's user and role, then auth on.
    Init {
        /// etcd's root password: read from FILE (first line), or made and written there
        /// (mode 0600) when FILE does not exist. Needed while etcd has no root user.
        #[arg(long, value_name = "FILE")]
        root_password_file: Option<PathBuf>,
        /// Where to write the controller's new etcd password (mode 0600).
        #[arg(long, value_name = "FILE", required = true)]
        controller_password_file: PathBuf,
        /// Make NAME admin everywhere in a first policy (only when the store has none).
        #[arg(long = "admin", value_name = "NAME")]
        admins: Vec<String>,
        /// The controller's ed25519 signing key for audit checkpoints (PKCS#8 DER): read
        /// from FILE, or made and written there (mode 0600) when FILE does not exist. Its
        /// public key is recorded in the store; the private key never is. Give FILE to
        /// `flightdeck agent --signing-key-file`.
        #[arg(long, value_name = "FILE")]
        signing_key_file: Option<PathBuf>,
    },
    /// Add a person (or update their groups): their etcd user, role and group roles.
    #[command(group(clap::ArgGroup::new("login").required(true).args(["password_file", "cert_only"])))]
    AddUser {
        /// Their user name (also their etcd user and a client certificate's CN).
        name: String,
        /// Their groups, comma-separated; each becomes the etcd role flightdeck-group-<g>.
        #[arg(long, value_delimiter = ',', value_name = "A,B")]
        groups: Vec<String>,
        /// Their password: read from FILE (first line), or made and written there (0600).
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        /// No password: they log in with a client certificate whose CN is NAME.
        #[arg(long)]
        cert_only: bool,
    },
}
