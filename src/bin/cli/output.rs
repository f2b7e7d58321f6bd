//! Output files, checked before the work that fills them: a run of hours must
//! not end in "could not write". A path is ready when it is not a folder, its
//! folder exists (it is created if missing) and a file can be opened there for
//! writing. The check leaves an existing file as it was and removes the empty
//! file it had to create, so a run that fails later leaves nothing behind.

use std::path::Path;

use serde::Serialize;

/// Checks that `path` (given as `flag`) can be written, before any work.
pub fn ensure_writable(flag: &str, path: &Path) -> Result<(), String> {
    let bad = |why: String| Err(format!("{flag} {}: {why}", path.display()));
    if path.is_dir() {
        return bad("is a folder; give a file name".into());
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if parent.exists() && !parent.is_dir() {
            return bad(format!("{} is a file, not a folder", parent.display()));
        }
        if let Err(e) = std::fs::create_dir_all(parent) {
            return bad(format!("cannot create its folder: {e}"));
        }
    }
    let existed = path.exists();
    match std::fs::OpenOptions::new().append(true).create(true).open(path) {
        Ok(_) if !existed => {
            let _ = std::fs::remove_file(path);
            Ok(())
        }
        Ok(_) => Ok(()),
        Err(e) => bad(format!("cannot be written: {e}")),
    }
}

/// Writes `value` as pretty JSON to `path` and says so on stderr.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).expect("plain data serialises");
    std::fs::write(path, text + "\n").map_err(|e| format!("could not write {}: {e}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writable_paths_pass_and_leave_nothing_behind() {
        let dir = std::env::temp_dir().join(format!("rngd-lab-output-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let file = dir.join("new/deeper/run.json");
        ensure_writable("--json", &file).unwrap();
        assert!(!file.exists() && file.parent().unwrap().is_dir());
        std::fs::write(&file, "kept").unwrap();
        ensure_writable("--json", &file).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "kept");
        let e = ensure_writable("--json", &dir).unwrap_err();
        assert!(e.contains("is a folder"), "{e}");
        let e = ensure_writable("--table", &file.join("x.md")).unwrap_err();
        assert!(e.starts_with("--table") && e.contains("is a file, not a folder"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
