//! Names and order: which (architecture, optimizer) a run belongs to, how the
//! table and the figure sort them, and how they are written for people.

use super::load::Run;

/// (architecture, optimizer), ordered PLAIN before BNA and SGD, Adam, RNGD.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    pub arch_rank: u8,
    pub arch: String,
    pub opt_rank: u8,
    pub optimizer: String,
}

impl Key {
    pub fn new(arch: &str, optimizer: &str) -> Key {
        let arch_rank = match arch {
            "plain" => 0,
            "bna" => 1,
            _ => 2,
        };
        let opt_rank = match optimizer {
            "sgd" => 0,
            "adam" => 1,
            "rngd" => 2,
            _ => 3,
        };
        Key { arch_rank, arch: arch.into(), opt_rank, optimizer: optimizer.into() }
    }
    pub fn of(run: &Run) -> Key {
        Key::new(&run.arch, &run.optimizer)
    }
}

pub fn opt_label(o: &str) -> String {
    match o {
        "sgd" => "SGD".into(),
        "adam" => "Adam".into(),
        "rngd" => "RNGD".into(),
        other => other.to_uppercase(),
    }
}

pub fn arch_label(a: &str) -> String {
    a.to_uppercase()
}
