//! `ringcache-local`: a whole ringcache CacheCluster on this machine, operator included, with no
//! Kubernetes: the API stand-in, the pod runner and the real operator (see `ringcache_e2e::local`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use ringcache_e2e::local::{ControlPlane, LocalCluster, LocalOptions, sibling_binary};

/// Run a ringcache CacheCluster locally: a Kubernetes API stand-in, pods as local ringcache-node
/// processes, and the real ringcache-operator.
#[derive(Debug, Parser)]
#[command(name = "ringcache-local", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    up: UpArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the cluster (the default). Runs until Ctrl-C unless --detach.
    Up(UpArgs),
    /// Stop a cluster started with `up --detach` and delete its state.
    Down(StateArgs),
    /// Internal: the background process of `up --detach`.
    #[command(hide = true)]
    Serve(UpArgs),
}

#[derive(Debug, Clone, clap::Args)]
struct StateArgs {
    /// Where the kubeconfig, data directories and logs live.
    #[arg(long, default_value_os_t = default_state_dir())]
    state_dir: PathBuf,
}

#[derive(Debug, Clone, clap::Args)]
struct UpArgs {
    /// The CacheCluster manifest to apply.
    #[arg(short = 'f', long, default_value = "examples/cachecluster.yaml")]
    file: PathBuf,
    /// Return once the cluster is Available, leaving it running in the background; prints
    /// `KUBECONFIG=…` and `RINGCACHE_ENDPOINT=host:port` lines for `eval`.
    #[arg(long)]
    detach: bool,
    /// Seconds to wait for the CacheCluster to become Available.
    #[arg(long, default_value_t = 180)]
    timeout: u64,
    /// Second octet of the pods' loopback addresses (127.N.x.y).
    #[arg(long, default_value_t = 77)]
    subnet: u8,
    /// `standin`: the in-repo API stand-in. `real`: etcd, kube-apiserver and
    /// kube-controller-manager built by scripts/install-kube.sh (in ~/.cache/ringcache/kube).
    #[arg(long, default_value = "standin")]
    control_plane: ControlPlane,
    #[command(flatten)]
    state: StateArgs,
}

fn default_state_dir() -> PathBuf {
    std::env::temp_dir().join(format!(
        "ringcache-local-{}",
        std::env::var("USER").unwrap_or_else(|_| "user".to_owned())
    ))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        None => run(cli.up, false),
        Some(Command::Up(args)) => run(args, false),
        Some(Command::Serve(args)) => run(args, true),
        Some(Command::Down(args)) => down(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("ringcache-local: {error:#}");
            ExitCode::FAILURE
        }
    }
}

const PID_FILE: &str = "ringcache-local.pid";
const READY_FILE: &str = "ready.env";

fn run(args: UpArgs, background: bool) -> anyhow::Result<()> {
    let state_dir = args.state.state_dir.clone();
    if args.detach && !background {
        return detach(&args);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        if let Ok(pid) = std::fs::read_to_string(state_dir.join(PID_FILE))
            && process_alive(pid.trim())
        {
            anyhow::bail!(
                "a local cluster already runs from {} (pid {}): `ringcache-local down` first",
                state_dir.display(),
                pid.trim()
            );
        }
        let _ = std::fs::remove_file(state_dir.join(READY_FILE));
        let options = LocalOptions {
            manifest: args.file.clone(),
            state_dir: state_dir.clone(),
            node_binary: sibling_binary("ringcache-node", "RINGCACHE_NODE_BIN"),
            operator_binary: sibling_binary("ringcache-operator", "RINGCACHE_OPERATOR_BIN"),
            second_octet: args.subnet,
            timeout: Duration::from_secs(args.timeout),
            operator_rbac: None,
            control_plane: args.control_plane,
        };
        std::fs::create_dir_all(&state_dir)?;
        std::fs::write(state_dir.join(PID_FILE), std::process::id().to_string())?;
        eprintln!(
            "ringcache-local: starting {}, the pod runner and the operator",
            match args.control_plane {
                ControlPlane::Standin => "the API stand-in",
                ControlPlane::Real => "etcd, kube-apiserver and kube-controller-manager",
            }
        );
        let cluster = LocalCluster::start(options).await?;
        let waited = cluster
            .wait_available(|progress| eprintln!("ringcache-local: {progress}"))
            .await;
        if let Err(error) = waited {
            cluster.shutdown().await;
            return Err(error.into());
        }
        let endpoint = cluster.endpoint(0).unwrap_or_default();
        let kubeconfig = cluster.kubeconfig_path();
        let (host, port) = endpoint.rsplit_once(':').unwrap_or((&endpoint, "6379"));
        std::fs::write(
            state_dir.join(READY_FILE),
            format!(
                "KUBECONFIG={}\nRINGCACHE_ENDPOINT={endpoint}\n",
                kubeconfig.display()
            ),
        )?;
        if !background {
            println!(
                "\nCacheCluster {}/{} is Available.\n\n  redis-cli -c -h {host} -p {port}\n  \
                 export KUBECONFIG={}\n  kubectl get cc\n  kubectl scale cc/{} --replicas=5\n\n\
                 Ctrl-C stops everything (state in {}).",
                cluster.namespace(),
                cluster.name(),
                kubeconfig.display(),
                cluster.name(),
                state_dir.display()
            );
        }
        shutdown_signal().await;
        eprintln!("ringcache-local: stopping");
        cluster.shutdown().await;
        let _ = std::fs::remove_file(state_dir.join(PID_FILE));
        let _ = std::fs::remove_file(state_dir.join(READY_FILE));
        Ok(())
    })
}

/// Starts `serve` in the background and returns once it reports the cluster Available.
fn detach(args: &UpArgs) -> anyhow::Result<()> {
    let state_dir = &args.state.state_dir;
    std::fs::create_dir_all(state_dir)?;
    let _ = std::fs::remove_file(state_dir.join(READY_FILE));
    let log_path = state_dir.join("ringcache-local.log");
    let log = std::fs::File::create(&log_path)?;
    let exe = std::env::current_exe().context("cannot find this executable")?;
    let mut child = std::process::Command::new(exe)
        .arg("serve")
        .arg("--file")
        .arg(&args.file)
        .arg("--timeout")
        .arg(args.timeout.to_string())
        .arg("--subnet")
        .arg(args.subnet.to_string())
        .arg("--control-plane")
        .arg(match args.control_plane {
            ControlPlane::Standin => "standin",
            ControlPlane::Real => "real",
        })
        .arg("--state-dir")
        .arg(state_dir)
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("cannot start the background process")?;
    loop {
        if let Ok(ready) = std::fs::read_to_string(state_dir.join(READY_FILE)) {
            print!("{ready}");
            return Ok(());
        }
        if let Some(status) = child.try_wait()? {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            anyhow::bail!("the background process exited ({status}):\n{log}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn down(args: &StateArgs) -> anyhow::Result<()> {
    let pid_path = args.state_dir.join(PID_FILE);
    let Ok(pid) = std::fs::read_to_string(&pid_path) else {
        eprintln!(
            "ringcache-local: nothing runs from {}",
            args.state_dir.display()
        );
        return Ok(());
    };
    let pid = pid.trim().to_owned();
    if process_alive(&pid) {
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .context("cannot run kill")?;
        for _ in 0..600 {
            if !process_alive(&pid) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if process_alive(&pid) {
            anyhow::bail!("process {pid} did not stop within 60 s");
        }
    }
    std::fs::remove_dir_all(&args.state_dir)
        .with_context(|| format!("cannot delete {}", args.state_dir.display()))?;
    eprintln!(
        "ringcache-local: stopped and removed {}",
        args.state_dir.display()
    );
    Ok(())
}

fn process_alive(pid: &str) -> bool {
    !pid.is_empty() && std::path::Path::new("/proc").join(pid).exists()
}

async fn shutdown_signal() {
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async {
            match terminate.as_mut() {
                Some(signal) => { signal.recv().await; }
                None => std::future::pending::<()>().await,
            }
        } => {}
    }
}
