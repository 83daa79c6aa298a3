//! `FaultyFs`: an in-memory [`DurableFs`] that loses unsynced data on a simulated power cut and
//! fails chosen writes or syncs, after etcd's LazyFS tests.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use super::fs::{DurableFile, DurableFs};

/// An in-memory file system that remembers, per file, which bytes were synced.
///
/// - [`power_cut`](Self::power_cut) drops every byte not yet synced, and every creation, rename
///   or removal not followed by a [`sync_dir`](DurableFs::sync_dir) of its directory; files
///   opened before it fail from then on (the process "died").
/// - [`power_cut_torn`](Self::power_cut_torn) keeps a random prefix of the unsynced bytes of
///   each file instead (a torn write-back).
/// - [`fail_nth_write`](Self::fail_nth_write) / [`fail_nth_sync`](Self::fail_nth_sync) make one
///   later write or sync fail with an I/O error.
///
/// Clones share the same file system. A clone belongs to the "boot" it was made in: after a
/// power cut, every operation through an older clone or file handle fails (the process that
/// used it is dead), so the store under test must be reopened with a fresh clone.
///
/// ```
/// use std::path::Path;
/// use orch_store::durable::{DurableFs, FaultyFs};
///
/// let fs = FaultyFs::new();
/// let dir = Path::new("/db");
/// let mut f = fs.create(&dir.join("log")).unwrap();
/// f.write_all(b"synced").unwrap();
/// f.sync_data().unwrap();
/// fs.sync_dir(dir).unwrap();
/// f.write_all(b" lost").unwrap();
/// fs.power_cut();
/// assert!(f.write_all(b"x").is_err(), "handles from before the cut are dead");
/// assert!(fs.read(&dir.join("log")).is_err(), "so is the old clone");
/// let rebooted = fs.clone();
/// assert_eq!(rebooted.read(&dir.join("log")).unwrap(), b"synced");
/// ```
#[derive(Default)]
pub struct FaultyFs {
    state: Arc<Mutex<State>>,
    generation: u64,
}

impl Clone for FaultyFs {
    fn clone(&self) -> Self {
        let generation = self.lock().generation;
        FaultyFs { state: self.state.clone(), generation }
    }
}

impl std::fmt::Debug for FaultyFs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultyFs").field("files", &self.lock().names.len()).finish()
    }
}

#[derive(Default)]
struct Inode {
    data: Vec<u8>,
    durable: Vec<u8>,
    /// First byte changed since the last sync (`data[..dirty_from] == durable[..dirty_from]`).
    dirty_from: usize,
}

#[derive(Default)]
struct State {
    generation: u64,
    next_ino: u64,
    inodes: HashMap<u64, Inode>,
    names: BTreeMap<PathBuf, u64>,
    durable_names: BTreeMap<PathBuf, u64>,
    writes: u64,
    syncs: u64,
    fail_write_at: Option<u64>,
    fail_sync_at: Option<u64>,
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("{}: no such file", path.display()))
}

fn dead() -> io::Error {
    io::Error::other("power was cut: this handle belongs to a dead process")
}

fn injected(what: &str) -> io::Error {
    io::Error::other(format!("injected {what} failure"))
}

impl State {
    fn ino(&self, path: &Path) -> io::Result<u64> {
        self.names.get(path).copied().ok_or_else(|| not_found(path))
    }

    fn new_inode(&mut self) -> u64 {
        self.next_ino += 1;
        self.inodes.insert(self.next_ino, Inode::default());
        self.next_ino
    }

    fn cut(&mut self, mut keep_unsynced: impl FnMut(usize) -> usize) {
        self.generation += 1;
        self.names = self.durable_names.clone();
        let live: Vec<u64> = self.names.values().copied().collect();
        self.inodes.retain(|ino, _| live.contains(ino));
        for inode in self.inodes.values_mut() {
            let from = inode.dirty_from.min(inode.durable.len()).min(inode.data.len());
            let unsynced = inode.data.len() - from;
            let kept = keep_unsynced(unsynced).min(unsynced);
            if kept == 0 {
                inode.data = inode.durable.clone();
            } else {
                inode.data.truncate(from + kept);
                inode.durable = inode.data.clone();
            }
            inode.dirty_from = inode.data.len();
        }
    }
}

impl FaultyFs {
    /// An empty file system.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The state, for an operation of this clone's boot: fails after a power cut.
    fn live(&self) -> io::Result<MutexGuard<'_, State>> {
        let s = self.lock();
        if s.generation == self.generation { Ok(s) } else { Err(dead()) }
    }

    /// Simulates a power cut: unsynced bytes and unsynced directory changes are lost, and every
    /// file handle opened before fails from now on.
    pub fn power_cut(&self) {
        self.lock().cut(|_| 0);
    }

    /// Like [`power_cut`](Self::power_cut), but each file keeps a pseudo-random prefix (chosen
    /// from `seed`) of its unsynced bytes, as a partial write-back would leave it.
    pub fn power_cut_torn(&self, seed: u64) {
        let mut x = seed | 1;
        self.lock().cut(|unsynced| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % (unsynced as u64 + 1)) as usize
        });
    }

    /// Makes the `n`-th write from now (1-based, counting every file) fail with an I/O error.
    pub fn fail_nth_write(&self, n: u64) {
        let mut s = self.lock();
        s.fail_write_at = Some(s.writes + n);
    }

    /// Makes the `n`-th `sync_data` from now (1-based, counting every file) fail with an I/O error.
    pub fn fail_nth_sync(&self, n: u64) {
        let mut s = self.lock();
        s.fail_sync_at = Some(s.syncs + n);
    }

    /// How many bytes of `path` are durable (survive a power cut), if its name is durable.
    pub fn synced_len(&self, path: &Path) -> Option<usize> {
        let s = self.lock();
        let ino = s.durable_names.get(path)?;
        s.inodes.get(ino).map(|i| i.durable.len())
    }

    /// Overwrites bytes of a file in place and makes the change durable (to simulate bit rot).
    ///
    /// # Errors
    /// `NotFound` for a missing file; `InvalidInput` when the range is past the end.
    pub fn corrupt(&self, path: &Path, offset: usize, bytes: &[u8]) -> io::Result<()> {
        let mut s = self.lock();
        let ino = s.ino(path)?;
        let inode = s.inodes.get_mut(&ino).ok_or_else(|| not_found(path))?;
        let end = offset + bytes.len();
        let target = inode.data.get_mut(offset..end).ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        target.copy_from_slice(bytes);
        inode.durable = inode.data.clone();
        inode.dirty_from = inode.data.len();
        Ok(())
    }
}

struct FaultyFile {
    fs: FaultyFs,
    ino: u64,
    generation: u64,
}

impl FaultyFile {
    fn with_inode<T>(&self, f: impl FnOnce(&mut State) -> io::Result<T>) -> io::Result<T> {
        let mut s = self.fs.lock();
        if s.generation != self.generation {
            return Err(dead());
        }
        f(&mut s)
    }
}

impl DurableFile for FaultyFile {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let ino = self.ino;
        self.with_inode(|s| {
            s.writes += 1;
            if s.fail_write_at == Some(s.writes) {
                return Err(injected("write"));
            }
            let inode = s.inodes.get_mut(&ino).ok_or_else(|| io::Error::other("inode gone"))?;
            inode.data.extend_from_slice(buf);
            Ok(())
        })
    }

    fn sync_data(&mut self) -> io::Result<()> {
        let ino = self.ino;
        self.with_inode(|s| {
            s.syncs += 1;
            if s.fail_sync_at == Some(s.syncs) {
                return Err(injected("sync"));
            }
            let inode = s.inodes.get_mut(&ino).ok_or_else(|| io::Error::other("inode gone"))?;
            let from = inode.dirty_from.min(inode.durable.len()).min(inode.data.len());
            inode.durable.truncate(from);
            inode.durable.extend_from_slice(&inode.data[from..]);
            inode.dirty_from = inode.data.len();
            Ok(())
        })
    }
}

impl DurableFs for FaultyFs {
    fn create_dir_all(&self, _dir: &Path) -> io::Result<()> {
        self.live().map(drop)
    }

    fn create(&self, path: &Path) -> io::Result<Box<dyn DurableFile>> {
        let mut s = self.live()?;
        let ino = s.new_inode();
        s.names.insert(path.to_path_buf(), ino);
        Ok(Box::new(FaultyFile {
            fs: FaultyFs { state: self.state.clone(), generation: s.generation },
            ino,
            generation: s.generation,
        }))
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn DurableFile>> {
        let s = self.live()?;
        let ino = s.ino(path)?;
        Ok(Box::new(FaultyFile {
            fs: FaultyFs { state: self.state.clone(), generation: s.generation },
            ino,
            generation: s.generation,
        }))
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let s = self.live()?;
        let ino = s.ino(path)?;
        Ok(s.inodes.get(&ino).map(|i| i.data.clone()).unwrap_or_default())
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let s = self.live()?;
        let names = s.names.keys().filter(|p| p.parent() == Some(dir));
        Ok(names.filter_map(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned()).collect())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut s = self.live()?;
        let ino = s.names.remove(from).ok_or_else(|| not_found(from))?;
        s.names.insert(to.to_path_buf(), ino);
        Ok(())
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        let mut s = self.live()?;
        s.names.remove(path).map(|_| ()).ok_or_else(|| not_found(path))
    }

    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        let mut s = self.live()?;
        let ino = s.ino(path)?;
        let inode = s.inodes.get_mut(&ino).ok_or_else(|| not_found(path))?;
        inode.data.truncate(usize::try_from(len).unwrap_or(usize::MAX));
        inode.durable = inode.data.clone();
        inode.dirty_from = inode.data.len();
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut s = self.live()?;
        let in_dir = |p: &PathBuf| p.parent() == Some(dir);
        let current: Vec<(PathBuf, u64)> =
            s.names.iter().filter(|(p, _)| in_dir(p)).map(|(p, i)| (p.clone(), *i)).collect();
        s.durable_names.retain(|p, _| !in_dir(p));
        s.durable_names.extend(current);
        Ok(())
    }
}
