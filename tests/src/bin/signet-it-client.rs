//! A tiny program around `signet-client` for the integration tests that run
//! the Rust client as another user (`setpriv`): the client's checks are made
//! against the uid of a real process, not the test's.
//!
//! `signet-it-client blocking|tokio [SOCKET]`: connects (to SOCKET, else to
//! the default path from the environment), asks for the agent's version and
//! its keys, and prints `ok protocol=N keys=K`, or `error: MESSAGE` and
//! exits 1.

use std::process::ExitCode;

fn blocking(socket: Option<String>) -> Result<String, signet_client::Error> {
    let mut c = match socket {
        Some(s) => signet_client::Client::connect_to(s)?,
        None => signet_client::Client::connect()?,
    };
    let v = c.version()?;
    let keys = c.list_keys()?;
    Ok(format!("ok protocol={} keys={}", v.protocol, keys.len()))
}

fn tokio(socket: Option<String>) -> Result<String, signet_client::Error> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| signet_client::Error::Io {
            path: "runtime".into(),
            source: e,
        })?;
    rt.block_on(async {
        let mut c = match socket {
            Some(s) => signet_client::AsyncClient::connect_to(s).await?,
            None => signet_client::AsyncClient::connect().await?,
        };
        let v = c.version().await?;
        let keys = c.list_keys().await?;
        Ok(format!("ok protocol={} keys={}", v.protocol, keys.len()))
    })
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_default();
    let socket = args.next();
    let result = match mode.as_str() {
        "blocking" => blocking(socket),
        "tokio" => tokio(socket),
        _ => {
            eprintln!("usage: signet-it-client blocking|tokio [SOCKET]");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
