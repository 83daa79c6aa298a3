//! `DurableFs`: the small file-I/O surface `DurableKv` uses, and `OsFs`, its `std::fs` implementation.
//!
//! Every byte `DurableKv` reads or writes goes through this trait, so tests can swap in
//! [`FaultyFs`](super::FaultyFs), which forgets unsynced bytes on a simulated power cut and can
//! fail chosen writes or syncs.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;

/// A file open for appending.
///
/// # Guarantees
/// Bytes passed to [`write_all`](Self::write_all) are durable only once a later
/// [`sync_data`](Self::sync_data) returned `Ok`.
pub trait DurableFile: Send {
    /// Appends `buf` at the end of the file.
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()>;
    /// Makes every byte written so far durable (fdatasync).
    fn sync_data(&mut self) -> io::Result<()>;
}

/// The file-system operations of `DurableKv`: append, sync, read, list, rename, remove, truncate.
///
/// # Guarantees (what callers rely on)
/// - A new or renamed name, or a removal, is durable only after [`sync_dir`](Self::sync_dir)
///   of its directory returned `Ok`.
/// - File contents are durable only after [`DurableFile::sync_data`] returned `Ok`.
///
/// # Example
/// ```
/// use std::sync::Arc;
/// use orch_store::durable::{DurableFs, FaultyFs, OsFs};
///
/// fn roundtrip(fs: &dyn DurableFs, dir: &std::path::Path) -> std::io::Result<Vec<u8>> {
///     fs.create_dir_all(dir)?;
///     let path = dir.join("hello");
///     let mut f = fs.create(&path)?;
///     f.write_all(b"hi")?;
///     f.sync_data()?;
///     fs.sync_dir(dir)?;
///     fs.read(&path)
/// }
/// let mem: Arc<dyn DurableFs> = Arc::new(FaultyFs::new());
/// assert_eq!(roundtrip(&*mem, std::path::Path::new("/db")).unwrap(), b"hi");
/// let dir = std::env::temp_dir().join(format!("orch-fs-doc-{}", std::process::id()));
/// assert_eq!(roundtrip(&OsFs, &dir).unwrap(), b"hi");
/// std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub trait DurableFs: Send + Sync {
    /// Creates `dir` and its parents if missing.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// Creates `path` empty (truncating an existing file) and opens it for appending.
    fn create(&self, path: &Path) -> io::Result<Box<dyn DurableFile>>;
    /// Opens an existing file for appending at its end.
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn DurableFile>>;
    /// Reads a whole file.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// The names of the files in `dir` (not paths), in no particular order.
    fn list(&self, dir: &Path) -> io::Result<Vec<String>>;
    /// Renames `from` to `to`, replacing `to`.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Removes a file.
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// Cuts a file to `len` bytes and makes that durable.
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()>;
    /// Makes the directory's entries (creations, renames, removals) durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
}

#[allow(dead_code)]
fn _object_safe(_: &dyn DurableFs, _: &dyn DurableFile) {}

/// [`DurableFs`] over the real file system (`std::fs`; `sync_data` is fdatasync).
///
/// ```
/// use orch_store::durable::{DurableFs, OsFs};
/// let dir = std::env::temp_dir().join(format!("orch-osfs-doc-{}", std::process::id()));
/// OsFs.create_dir_all(&dir).unwrap();
/// assert!(OsFs.list(&dir).unwrap().is_empty());
/// std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct OsFs;

struct OsFile(File);

impl DurableFile for OsFile {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf)
    }

    fn sync_data(&mut self) -> io::Result<()> {
        self.0.sync_data()
    }
}

impl DurableFs for OsFs {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(dir)
    }

    fn create(&self, path: &Path) -> io::Result<Box<dyn DurableFile>> {
        let f = OpenOptions::new().create(true).write(true).truncate(true).open(path)?;
        Ok(Box::new(OsFile(f)))
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn DurableFile>> {
        let f = OpenOptions::new().append(true).open(path)?;
        Ok(Box::new(OsFile(f)))
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let mut buf = Vec::new();
        File::open(path)?.read_to_end(&mut buf)?;
        Ok(buf)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                names.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        Ok(names)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        let f = OpenOptions::new().write(true).open(path)?;
        f.set_len(len)?;
        f.sync_all()
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }
}
