//! Framing: every agent message is a `uint32` length followed by that many bytes.
//!
//! The length is checked against [`MAX_FRAME_LEN`] *before* any buffer is sized
//! for it, as OpenSSH's ssh-agent does, so a hostile peer cannot make the daemon
//! allocate more than the cap.

use crate::error::{Error, Result};

/// The largest message body accepted or sent: 256 KiB, as in OpenSSH's agent.
pub const MAX_FRAME_LEN: usize = 256 * 1024;

/// Bytes in the length prefix.
pub const LEN_PREFIX: usize = 4;

/// Validates a frame's length prefix and returns the body length.
pub fn body_len(prefix: [u8; LEN_PREFIX]) -> Result<usize> {
    let len = u32::from_be_bytes(prefix) as usize;
    if len == 0 {
        return Err(Error::EmptyFrame);
    }
    if len > MAX_FRAME_LEN {
        return Err(Error::FrameTooLarge {
            len,
            max: MAX_FRAME_LEN,
        });
    }
    Ok(len)
}

/// Finds the first complete frame at the start of `buf`.
///
/// Returns the body and the number of bytes the whole frame occupies, `None` if
/// more bytes are needed, or a framing error.
pub fn split(buf: &[u8]) -> Result<Option<(&[u8], usize)>> {
    let Some(prefix) = buf.first_chunk::<LEN_PREFIX>() else {
        return Ok(None);
    };
    let len = body_len(*prefix)?;
    let total = LEN_PREFIX + len;
    Ok(buf.get(LEN_PREFIX..total).map(|body| (body, total)))
}

/// Starts a frame in `out`: reserves the length prefix and returns where it is.
/// Finish it with [`end`].
pub fn begin(out: &mut Vec<u8>) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0; LEN_PREFIX]);
    start
}

/// Writes the length prefix of the frame started at `start`.
pub fn end(out: &mut [u8], start: usize) {
    let len = out.len() - start - LEN_PREFIX;
    let len = u32::try_from(len).unwrap_or(u32::MAX);
    out[start..start + LEN_PREFIX].copy_from_slice(&len.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_is_checked_from_the_prefix_alone() {
        let over = u32::try_from(MAX_FRAME_LEN + 1).unwrap_or(u32::MAX);
        assert!(matches!(
            body_len(over.to_be_bytes()),
            Err(Error::FrameTooLarge { .. })
        ));
        let at = u32::try_from(MAX_FRAME_LEN).unwrap_or(u32::MAX);
        assert_eq!(body_len(at.to_be_bytes()), Ok(MAX_FRAME_LEN));
        assert_eq!(body_len([0; 4]), Err(Error::EmptyFrame));
    }

    #[test]
    fn split_waits_for_whole_frame() {
        let mut out = Vec::new();
        let s = begin(&mut out);
        out.extend_from_slice(&[11, 1, 2]);
        end(&mut out, s);
        assert_eq!(split(&out[..5]), Ok(None));
        assert_eq!(split(&out[..3]), Ok(None));
        assert_eq!(split(&out), Ok(Some((&[11u8, 1, 2][..], 7))));
    }
}
