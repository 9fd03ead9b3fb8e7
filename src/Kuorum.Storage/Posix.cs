using System.Runtime.InteropServices;

namespace Kuorum.Storage;

/// <summary>The few POSIX calls .NET does not offer: O_DSYNC files and syncing a directory after a rename.</summary>
internal static class Posix
{
    public const int ReadWrite = 0x2;
    public const int DataSync = 0x1000; // O_DSYNC

    // Child processes (the crash tests start some) must not inherit our descriptors: a held file keeps a file system
    // busy and outlives the parent's close.
    public const int CloseOnExec = 0x80000; // O_CLOEXEC
    private const int ReadOnlyDirectory = 0x10000 | CloseOnExec; // O_RDONLY | O_DIRECTORY | O_CLOEXEC

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    public static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "pwrite", SetLastError = true)]
    public static extern nint PWrite(int fd, byte[] buffer, nint count, long offset);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    public static extern int Close(int fd);

    [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static extern int Fsync(int fd);

    /// <summary>Makes the directory's entries (a rename, a new file) durable.</summary>
    public static void SyncDirectory(string directory)
    {
        var fd = Open(directory, ReadOnlyDirectory);
        if (fd < 0)
        {
            throw new IOException($"cannot open directory {directory} to sync it (errno {Marshal.GetLastPInvokeError()})");
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                throw new IOException($"fsync of directory {directory} failed (errno {Marshal.GetLastPInvokeError()})");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }
}
