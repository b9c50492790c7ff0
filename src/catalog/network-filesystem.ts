/**
 * Whether a folder lies on a filesystem whose calls go over a network (NFS, SMB, a FUSE mount such
 * as sshfs), by the filesystem's type as statfs gives it. A NAS client answers many calls from its
 * cache (the attributes that came with a listing), so timing them alone can hide the network
 * until the cache runs out; the type tells from the start. A local FUSE filesystem (ntfs-3g,
 * mergerfs) counts too: it is one more process away, and making its calls ahead costs nothing.
 */
import { statfsSync } from 'node:fs';

/** Linux's magic numbers (statfs f_type) of filesystems reached over a network or through FUSE. */
const NETWORK_TYPES = new Set([
  0x6969, // NFS
  0x517b, // SMB (smbfs)
  0xff534d42, // CIFS
  0xfe534d42, // SMB2 (cifs.ko)
  0x65735546, // FUSE (sshfs, rclone, gluster, ntfs-3g...)
  0x00c36400, // Ceph
  0x01021997, // 9p (v9fs)
  0x5346414f, // AFS
  0x0bd00bd0, // Lustre
]);

export function isNetworkFilesystem(path: string): boolean {
  try {
    return NETWORK_TYPES.has(statfsSync(path).type);
  } catch {
    return false; // Measured as the scan goes instead.
  }
}
