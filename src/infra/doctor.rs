//! `carelab doctor`: what this machine can do, and which labs run here.
//!
//! Facts come from the OS (sysinfo) and, in a CUDA build, from the CUDA
//! driver; each lab's `[requires]` table in its lab.toml says what it needs,
//! so adding a lab never means editing this file.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sysinfo::{CpuRefreshKind, Disks, MemoryRefreshKind, RefreshKind, System};

use crate::error::Result;
use crate::labs::Catalog;

const GB: f64 = 1024.0 * 1024.0 * 1024.0;

/// Everything doctor found (also its `--json` output).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub carelab_version: String,
    pub os: String,
    pub arch: String,
    /// Cores this process may use (what the OS reports, cgroup limits included).
    pub cores: usize,
    /// Logical CPUs the machine has.
    pub logical_cpus: usize,
    pub physical_cores: Option<usize>,
    pub memory_total_gb: f64,
    pub memory_available_gb: f64,
    /// Free space on the disk that holds the workspace.
    pub disk_free_gb: Option<f64>,
    pub features: Features,
    pub cuda: Cuda,
    pub workspace: WorkspaceAccess,
    pub labs: Vec<LabFit>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Features {
    /// Built with `--features cuda`.
    pub cuda: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cuda {
    pub built: bool,
    /// The CUDA version a CUDA build was made for (set by scripts/build-cuda.sh).
    pub built_for: Option<String>,
    /// The NVIDIA kernel driver's version, e.g. 580.159.03, where the
    /// driver is loaded (read from /proc/driver/nvidia/version, in any build).
    pub driver_version: Option<String>,
    /// The newest CUDA the driver runs, e.g. 13.0 (cuDriverGetVersion; CUDA builds).
    pub driver_cuda: Option<String>,
    pub devices: Vec<GpuDevice>,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct GpuDevice {
    pub index: usize,
    pub name: String,
    pub memory_gb: f64,
    pub compute_capability: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct WorkspaceAccess {
    pub path: PathBuf,
    pub exists: bool,
    pub writable: bool,
}

/// Whether a lab can run here, and what to do if not.
#[derive(Debug, Clone, Serialize)]
pub struct LabFit {
    pub lab: String,
    pub title: String,
    pub can_run: bool,
    /// What is missing and what to do about it; empty when it can run.
    pub advice: Vec<String>,
}

/// Examine this machine for labs in `workspace`.
pub fn examine(workspace: &Path, catalog: &Catalog) -> Result<Report> {
    let sys = System::new_with_specifics(
        RefreshKind::nothing()
            .with_memory(MemoryRefreshKind::nothing().with_ram())
            .with_cpu(CpuRefreshKind::nothing()),
    );
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let cuda = cuda_devices();
    let workspace = workspace_access(workspace);
    let disk_free_gb = disk_free(&workspace.path).map(|b| round2(b as f64 / GB));
    let memory_total_gb = round2(sys.total_memory() as f64 / GB);
    let memory_available_gb = round2(sys.available_memory() as f64 / GB);
    let labs = catalog
        .labs
        .iter()
        .map(|lab| {
            let need = &lab.spec.requires;
            let mut advice = Vec::new();
            if memory_available_gb < need.memory_gb {
                advice.push(format!(
                    "needs {} GB of free memory, {memory_available_gb} GB available: close other programs or use a bigger machine",
                    need.memory_gb
                ));
            }
            if let Some(free) = disk_free_gb.filter(|f| *f < need.disk_gb) {
                advice.push(format!(
                    "needs {} GB of free disk, {free} GB free: choose a --workspace on a bigger disk",
                    need.disk_gb
                ));
            }
            if !workspace.writable {
                advice.push(format!(
                    "cannot write to {}: choose another --workspace (or set CARELAB_WORKSPACE)",
                    workspace.path.display()
                ));
            }
            if need.cuda && cuda.devices.is_empty() {
                advice.push(format!("needs a CUDA GPU: {}", cuda.message));
            }
            LabFit {
                lab: lab.spec.slug.clone(),
                title: lab.spec.title.clone(),
                can_run: advice.is_empty(),
                advice,
            }
        })
        .collect();
    Ok(Report {
        carelab_version: crate::artifact::VERSION.to_string(),
        os: std::env::consts::OS.to_string(),
        arch: std::env::consts::ARCH.to_string(),
        cores,
        logical_cpus: sys.cpus().len().max(1),
        physical_cores: System::physical_core_count(),
        memory_total_gb,
        memory_available_gb,
        disk_free_gb,
        features: Features {
            cuda: cfg!(feature = "cuda"),
        },
        cuda,
        workspace,
        labs,
    })
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Can we write in the workspace (or, if it does not exist yet, in the
/// nearest folder above it that does)? Tested by writing and removing a file.
fn workspace_access(path: &Path) -> WorkspaceAccess {
    let exists = path.is_dir();
    let mut probe_dir = path.to_path_buf();
    while !probe_dir.is_dir() {
        match probe_dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => probe_dir = p.to_path_buf(),
            _ => {
                probe_dir = PathBuf::from(".");
                break;
            }
        }
    }
    let probe = probe_dir.join(format!(".carelab-doctor-{}", std::process::id()));
    let writable = fs::write(&probe, b"ok").is_ok();
    let _ = fs::remove_file(&probe);
    WorkspaceAccess {
        path: path.to_path_buf(),
        exists,
        writable,
    }
}

/// Free bytes on the disk whose mount point is the longest prefix of `path`.
fn disk_free(path: &Path) -> Option<u64> {
    let mut abs = std::path::absolute(path).ok()?;
    while !abs.exists() {
        abs = abs.parent()?.to_path_buf();
    }
    let abs = abs.canonicalize().unwrap_or(abs);
    let disks = Disks::new_with_refreshed_list();
    disks
        .list()
        .iter()
        .filter(|d| abs.starts_with(d.mount_point()))
        .max_by_key(|d| d.mount_point().as_os_str().len())
        .map(|d| d.available_space())
}

/// The version of the loaded NVIDIA kernel driver, if there is one.
fn driver_version() -> Option<String> {
    parse_driver_version(&fs::read_to_string("/proc/driver/nvidia/version").ok()?)
}

/// The first dotted number on the NVRM line: "NVRM version: NVIDIA UNIX
/// x86_64 Kernel Module  580.159.03  Thu ..." (the open modules say "Open
/// Kernel Module for x86_64" before it).
fn parse_driver_version(text: &str) -> Option<String> {
    let line = text.lines().find(|l| l.starts_with("NVRM version:"))?;
    line.split_whitespace()
        .find(|w| {
            w.contains('.')
                && w.split('.')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        })
        .map(str::to_string)
}

/// The CUDA version scripts/build-cuda.sh built for, in cudarc's spelling
/// (13000 is 13.0), as "13.0".
#[cfg(feature = "cuda")]
fn built_for() -> Option<String> {
    let v: u32 = option_env!("CUDARC_CUDA_VERSION")?.parse().ok()?;
    Some(format!("{}.{}", v / 1000, (v % 1000) / 10))
}

#[cfg(not(feature = "cuda"))]
fn cuda_devices() -> Cuda {
    let driver_version = driver_version();
    let there = match &driver_version {
        Some(v) => format!("this machine has NVIDIA driver {v}: "),
        None => String::new(),
    };
    Cuda {
        built: false,
        built_for: None,
        driver_version,
        driver_cuda: None,
        devices: Vec::new(),
        message: format!(
            "not built with CUDA: {there}build with scripts/build-cuda.sh (see the book's GPU \
             chapter) for a machine with an NVIDIA GPU; every lab runs on CPU"
        ),
    }
}

#[cfg(feature = "cuda")]
fn cuda_devices() -> Cuda {
    use candle_core::cuda_backend::cudarc::driver::{result, sys};
    let built_for = built_for();
    let driver_version = driver_version();
    let fail = |what: &str, e: result::DriverError, driver_cuda: Option<String>| Cuda {
        built: true,
        built_for: built_for.clone(),
        driver_version: driver_version.clone(),
        driver_cuda,
        devices: Vec::new(),
        message: format!(
            "built with CUDA, but {what}: {e:?}; check the NVIDIA driver with nvidia-smi"
        ),
    };
    if let Err(e) = result::init() {
        return fail("the CUDA driver did not start", e, None);
    }
    let mut v: std::ffi::c_int = 0;
    // SAFETY: cuDriverGetVersion writes one int, and the driver is initialised.
    let driver_cuda = unsafe { sys::cuDriverGetVersion(&mut v) }
        .result()
        .ok()
        .map(|()| format!("{}.{}", v / 1000, (v % 1000) / 10));
    let count = match result::device::get_count() {
        Ok(n) => n.max(0),
        Err(e) => return fail("the GPUs could not be counted", e, driver_cuda),
    };
    let mut devices = Vec::new();
    for i in 0..count {
        let Ok(dev) = result::device::get(i) else {
            continue;
        };
        let name = result::device::get_name(dev).unwrap_or_else(|_| "unknown".to_string());
        // SAFETY: `dev` was returned by `device::get` just above.
        let (memory, major, minor) = unsafe {
            (
                result::device::total_mem(dev).unwrap_or(0),
                result::device::get_attribute(
                    dev,
                    sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
                )
                .unwrap_or(0),
                result::device::get_attribute(
                    dev,
                    sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
                )
                .unwrap_or(0),
            )
        };
        devices.push(GpuDevice {
            index: i as usize,
            name,
            memory_gb: round2(memory as f64 / GB),
            compute_capability: format!("{major}.{minor}"),
        });
    }
    let too_old = match (&driver_cuda, &built_for) {
        (Some(have), Some(need)) if version_key(have) < version_key(need) => Some(format!(
            "the driver runs CUDA {have} but this build is for CUDA {need}: install a newer \
             NVIDIA driver (CUDA 13.0 needs 580 or newer), or build for the CUDA it has"
        )),
        _ => None,
    };
    let message = if let Some(too_old) = too_old {
        too_old
    } else if devices.is_empty() {
        "built with CUDA, but no GPU is visible (check nvidia-smi and CUDA_VISIBLE_DEVICES)"
            .to_string()
    } else {
        format!("{} CUDA device(s); use --device cuda", devices.len())
    };
    Cuda {
        built: true,
        built_for,
        driver_version,
        driver_cuda,
        devices,
        message,
    }
}

/// "13.0" -> (13, 0), for comparing versions.
#[cfg(feature = "cuda")]
fn version_key(v: &str) -> (u32, u32) {
    let mut parts = v.split('.').map(|p| p.parse().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

impl Report {
    /// The report for people.
    pub fn to_text(&self) -> String {
        let mut t = String::new();
        let yes = |b: bool| if b { "✔" } else { "✘" };
        t.push_str(&format!(
            "CareLab {} on {} ({})\n",
            self.carelab_version, self.os, self.arch
        ));
        t.push_str(&format!(
            "  cores        {} usable ({} logical CPUs{})\n",
            self.cores,
            self.logical_cpus,
            self.physical_cores
                .map(|p| format!(", {p} physical"))
                .unwrap_or_default()
        ));
        t.push_str(&format!(
            "  memory       {} GB total, {} GB available\n",
            self.memory_total_gb, self.memory_available_gb
        ));
        t.push_str(&format!(
            "  disk         {}\n",
            self.disk_free_gb
                .map(|g| format!("{g} GB free where the workspace is"))
                .unwrap_or_else(|| "free space unknown".to_string())
        ));
        t.push_str(&format!("  cuda         {}\n", self.cuda.message));
        let c = &self.cuda;
        if c.driver_version.is_some() || c.driver_cuda.is_some() || c.built_for.is_some() {
            let or_unknown = |v: &Option<String>| v.clone().unwrap_or_else(|| "unknown".into());
            t.push_str(&format!(
                "    driver     {} (runs CUDA {}); this build: {}\n",
                or_unknown(&c.driver_version),
                or_unknown(&c.driver_cuda),
                c.built_for
                    .as_ref()
                    .map_or("no CUDA".to_string(), |v| format!("CUDA {v}"))
            ));
        }
        for d in &self.cuda.devices {
            t.push_str(&format!(
                "    GPU {}      {}, {} GB, compute capability {}\n",
                d.index, d.name, d.memory_gb, d.compute_capability
            ));
        }
        t.push_str(&format!(
            "  workspace    {} {} ({})\n",
            yes(self.workspace.writable),
            self.workspace.path.display(),
            match (self.workspace.exists, self.workspace.writable) {
                (true, true) => "writable",
                (false, true) => "will be created",
                (_, false) => "NOT writable",
            }
        ));
        t.push_str("\nLabs on this machine:\n");
        for lab in &self.labs {
            t.push_str(&format!(
                "  {} {:<12} {}\n",
                yes(lab.can_run),
                lab.lab,
                lab.title
            ));
            for a in &lab.advice {
                t.push_str(&format!("       → {a}\n"));
            }
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_this_machine_and_every_lab() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::builtin().unwrap();
        let r = examine(&dir.path().join("work"), &catalog).unwrap();
        assert_eq!(r.cores, std::thread::available_parallelism().unwrap().get());
        assert!(r.memory_total_gb > 0.0);
        assert!(r.workspace.writable && !r.workspace.exists);
        assert_eq!(r.labs.len(), catalog.labs.len());
        assert_eq!(r.features.cuda, cfg!(feature = "cuda"));
        assert!(r.to_text().contains("00-setup"));
    }

    #[test]
    fn driver_version_from_the_nvrm_line_of_either_kernel_module() {
        let closed = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.159.03  Thu Oct  2 2025\nGCC version:  gcc version 12.2.0\n";
        let open = "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  570.86.15  Release Build  (dvs-builder@U16-I3-B03-4-3)  Thu Jan 23 2025\n";
        assert_eq!(parse_driver_version(closed).as_deref(), Some("580.159.03"));
        assert_eq!(parse_driver_version(open).as_deref(), Some("570.86.15"));
        assert_eq!(parse_driver_version("GCC version: 12.2.0\n"), None);
        assert_eq!(parse_driver_version("NVRM version: unknown\n"), None);
    }
}
