//! Signs a request to Encord's API with a key held by signetd and sends it
//! with `ureq`.
//!
//! ```text
//! signet start && signet add ~/.ssh/encord_ed25519
//! cargo run -p signet-client --example encord_ureq -- [KEY]
//! ```
//!
//! The private key never enters this process: the agent returns the
//! `Content-Digest`, `Signature-Input` and `Signature` headers, which are added
//! to the request as they are.

use signet_client::{Client, Scheme};

const URL: &str = "https://api.encord.com/v2/public/user/current";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let key = std::env::args().nth(1);
    let mut agent = Client::connect()?;
    // A GET has an empty body; its digest is still signed.
    let signed = agent.sign_request_body(key.as_deref(), Scheme::EncordV2, "GET", URL, b"")?;

    let mut request = ureq::get(URL).header("Accept", "application/json");
    for (name, value) in signed.iter() {
        request = request.header(name, value);
    }
    let mut response = request.call()?;
    println!("HTTP {}", response.status());
    println!("{}", response.body_mut().read_to_string()?);
    Ok(())
}
