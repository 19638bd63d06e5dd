//! MLLP framing: a message is sent as `0x0B`, the message, `0x1C 0x0D`. Frames may be split
//! across reads and several may come in one; bytes outside a frame are skipped (and counted),
//! and a frame longer than the limit is refused without holding it in memory.

pub const START: u8 = 0x0B;
pub const END: [u8; 2] = [0x1C, 0x0D];

/// What came out of the bytes read so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A whole message (the bytes between the start block and the end block).
    Message(Vec<u8>),
    /// A frame longer than the limit: it was dropped up to its end.
    TooLong,
}

/// Reassembles frames from a connection's reads.
#[derive(Debug)]
pub struct Framer {
    buf: Vec<u8>,
    /// Inside a frame (its start block seen).
    open: bool,
    /// Dropping an over-long frame until its end block.
    dropping: bool,
    max: usize,
    /// Bytes seen outside any frame.
    pub skipped: usize,
}

impl Framer {
    pub fn new(max: usize) -> Framer {
        Framer {
            buf: Vec::new(),
            open: false,
            dropping: false,
            max,
            skipped: 0,
        }
    }

    /// Takes the bytes of one read; returns the frames they completed.
    pub fn push(&mut self, mut bytes: &[u8]) -> Vec<Frame> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            if !self.open {
                match bytes.iter().position(|&b| b == START) {
                    Some(i) => {
                        // Line noise and keep-alive newlines between frames.
                        self.skipped += bytes[..i]
                            .iter()
                            .filter(|b| !b.is_ascii_whitespace())
                            .count();
                        bytes = &bytes[i + 1..];
                        self.open = true;
                        self.dropping = false;
                        self.buf.clear();
                    }
                    None => {
                        self.skipped += bytes.iter().filter(|b| !b.is_ascii_whitespace()).count();
                        return out;
                    }
                }
                continue;
            }
            // Inside a frame: look for the end block, which may straddle two reads.
            let end = find_end(bytes, self.buf.last() == Some(&END[0]));
            match end {
                Some(Split::AtStart) => {
                    // The 0x1C ended the last read; this 0x0D closes the frame.
                    self.buf.pop();
                    bytes = &bytes[1..];
                    self.close(&mut out);
                }
                Some(Split::At(i)) => {
                    self.take(&bytes[..i]);
                    bytes = &bytes[i + 2..];
                    self.close(&mut out);
                }
                None => {
                    self.take(bytes);
                    return out;
                }
            }
        }
        out
    }

    fn take(&mut self, part: &[u8]) {
        if self.dropping {
            // Keep only a possible 0x1C that the next read's 0x0D would complete.
            self.buf.clear();
            if part.last() == Some(&END[0]) {
                self.buf.push(END[0]);
            }
            return;
        }
        if self.buf.len() + part.len() > self.max {
            self.dropping = true;
            self.buf.clear();
            if part.last() == Some(&END[0]) {
                self.buf.push(END[0]);
            }
            return;
        }
        self.buf.extend_from_slice(part);
    }

    fn close(&mut self, out: &mut Vec<Frame>) {
        self.open = false;
        if self.dropping {
            out.push(Frame::TooLong);
        } else {
            out.push(Frame::Message(std::mem::take(&mut self.buf)));
        }
        self.dropping = false;
        self.buf.clear();
    }
}

enum Split {
    /// The end block's 0x0D is the first byte (its 0x1C ended the previous read).
    AtStart,
    /// The end block starts at this index.
    At(usize),
}

fn find_end(bytes: &[u8], last_was_fs: bool) -> Option<Split> {
    if last_was_fs && bytes.first() == Some(&END[1]) {
        return Some(Split::AtStart);
    }
    bytes.windows(2).position(|w| w == END).map(Split::At)
}

/// `message` framed for sending.
pub fn frame(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 3);
    out.push(START);
    out.extend_from_slice(message);
    out.extend_from_slice(&END);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(frames: Vec<Frame>) -> Vec<String> {
        frames
            .into_iter()
            .map(|f| match f {
                Frame::Message(m) => String::from_utf8(m).unwrap(),
                Frame::TooLong => "TOO LONG".into(),
            })
            .collect()
    }

    #[test]
    fn frames_split_across_reads_and_several_in_one() {
        let mut f = Framer::new(1000);
        let two = [frame(b"MSH|one"), frame(b"MSH|two")].concat();
        assert_eq!(messages(f.push(&two)), ["MSH|one", "MSH|two"]);
        // Split at every byte, including between 0x1C and 0x0D.
        let one = frame(b"MSH|three\rPID|1");
        let mut got = Vec::new();
        for b in &one {
            got.extend(messages(f.push(std::slice::from_ref(b))));
        }
        assert_eq!(got, ["MSH|three\rPID|1"]);
        // Noise between frames is skipped and counted.
        assert_eq!(messages(f.push(b"xx\n")), Vec::<String>::new());
        assert_eq!(f.skipped, 2);
        assert_eq!(messages(f.push(&frame(b"MSH|four"))), ["MSH|four"]);
    }

    #[test]
    fn a_frame_over_the_limit_is_dropped_and_the_next_one_read() {
        let mut f = Framer::new(10);
        let long = frame(&[b'x'; 50]);
        let (a, b) = long.split_at(20);
        assert!(f.push(a).is_empty());
        let mut out = messages(f.push(b));
        out.extend(messages(f.push(&frame(b"MSH|ok"))));
        assert_eq!(out, ["TOO LONG", "MSH|ok"]);
        // Its end block split across reads.
        let long = frame(&[b'y'; 30]);
        let cut = long.len() - 1;
        assert!(f.push(&long[..cut]).is_empty());
        assert_eq!(messages(f.push(&long[cut..])), ["TOO LONG"]);
    }
}
