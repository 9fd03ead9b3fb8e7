using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;

namespace Kuorum.Operator.Tests.Emulation;

/// <summary>
/// A secret volume as the kubelet materialises it, part of the kubelet EMULATION: the Secret's keys (all of them, or
/// the volume's <c>items</c> under their paths) become files in the volume's directory with the volume's
/// <c>defaultMode</c> (or an item's mode), written as the kubelet's atomic writer does — the files live in a
/// timestamped directory <c>..&lt;time&gt;</c>, <c>..data</c> is a symbolic link to it, and each visible name is a
/// link through <c>..data</c>. An update writes a new timestamped directory and swaps <c>..data</c> with one
/// rename(2), so a reader sees the old files or the new ones, never a mix. A missing Secret or key (not optional)
/// is the kubelet's mount failure: <see cref="ContainerConfigException"/> (the container does not start). Not
/// emulated: the kubelet's sync delay (here the emulation resyncs at its probe period), ownership by fsGroup (the
/// files belong to the test's user).
/// </summary>
public static partial class SecretVolumeEmulation
{
    private const string DataLink = "..data";

    /// <summary>Writes the Secret's current contents into <paramref name="directory"/> if they changed; true when it wrote.</summary>
    /// <param name="store">The API server emulation's store.</param>
    /// <param name="ns">The pod's namespace.</param>
    /// <param name="volumeName">The volume's name (for messages).</param>
    /// <param name="source">The volume's <c>secret</c> object.</param>
    /// <param name="directory">The volume's directory.</param>
    public static bool Sync(EmulatedStore store, string ns, string volumeName, JsonObject source, string directory)
    {
        var secretName = source["secretName"]?.GetValue<string>() ?? "";
        var optional = source["optional"]?.GetValue<bool>() == true;
        var defaultMode = source["defaultMode"]?.GetValue<int>() ?? Convert.ToInt32("644", 8);
        var secret = store.Get(EmulatedResources.Secrets, ns, secretName);
        if (secret is null && !optional)
        {
            throw new ContainerConfigException($"MountVolume.SetUp failed for volume \"{volumeName}\" : secret \"{secretName}\" not found");
        }

        var data = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var (key, value) in secret?["data"] as JsonObject ?? [])
        {
            data[key] = Convert.FromBase64String(value!.GetValue<string>());
        }

        var files = new SortedDictionary<string, (byte[] Bytes, int Mode)>(StringComparer.Ordinal);
        if (source["items"] is JsonArray items)
        {
            foreach (var item in items.OfType<JsonObject>())
            {
                var key = item["key"]!.GetValue<string>();
                if (!data.TryGetValue(key, out var bytes))
                {
                    if (optional)
                    {
                        continue;
                    }

                    throw new ContainerConfigException($"MountVolume.SetUp failed for volume \"{volumeName}\" : references non-existent secret key: {key}");
                }

                files[item["path"]!.GetValue<string>()] = (bytes, item["mode"]?.GetValue<int>() ?? defaultMode);
            }
        }
        else
        {
            foreach (var (key, bytes) in data)
            {
                files[key] = (bytes, defaultMode);
            }
        }

        return Write(directory, files);
    }

    /// <summary>The atomic writer: a new timestamped directory, then one rename of the <c>..data</c> link.</summary>
    private static bool Write(string directory, SortedDictionary<string, (byte[] Bytes, int Mode)> files)
    {
        Directory.CreateDirectory(directory);
        var dataPath = Path.Combine(directory, DataLink);
        if (Unchanged(dataPath, files))
        {
            return false;
        }

        var stamp = ".." + DateTime.UtcNow.ToString("yyyy_MM_dd_HH_mm_ss.fffffff", CultureInfo.InvariantCulture);
        var payload = Directory.CreateDirectory(Path.Combine(directory, stamp)).FullName;
        foreach (var (path, (bytes, mode)) in files)
        {
            var file = Path.Combine(payload, path);
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            File.WriteAllBytes(file, bytes);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(file, (UnixFileMode)mode);
            }
        }

        var previous = Directory.Exists(dataPath) ? new FileInfo(dataPath).LinkTarget : null;
        var temporary = Path.Combine(directory, "..data_tmp");
        File.Delete(temporary);
        File.CreateSymbolicLink(temporary, stamp);
        if (Rename(temporary, dataPath) != 0)
        {
            throw new IOException($"rename {temporary} to {dataPath} failed: errno {Marshal.GetLastPInvokeError()}");
        }

        var visible = files.Keys.Select(p => p.Split('/')[0]).ToHashSet(StringComparer.Ordinal);
        foreach (var name in visible)
        {
            var link = Path.Combine(directory, name);
            if (!Path.Exists(link) && new FileInfo(link).LinkTarget is null)
            {
                File.CreateSymbolicLink(link, Path.Combine(DataLink, name));
            }
        }

        foreach (var entry in new DirectoryInfo(directory).EnumerateFileSystemInfos())
        {
            if (!entry.Name.StartsWith("..", StringComparison.Ordinal) && entry.LinkTarget is not null && !visible.Contains(entry.Name))
            {
                entry.Delete(); // a key that left the Secret
            }
        }

        if (previous is not null && previous != stamp)
        {
            Directory.Delete(Path.Combine(directory, previous), recursive: true);
        }

        return true;
    }

    private static bool Unchanged(string dataPath, SortedDictionary<string, (byte[] Bytes, int Mode)> files)
    {
        if (!Directory.Exists(dataPath))
        {
            return false;
        }

        var present = Directory.EnumerateFiles(dataPath, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(dataPath, f))
            .Order(StringComparer.Ordinal)
            .ToList();
        return present.SequenceEqual(files.Keys, StringComparer.Ordinal)
               && files.All(f => File.ReadAllBytes(Path.Combine(dataPath, f.Key)).AsSpan().SequenceEqual(f.Value.Bytes));
    }

    [LibraryImport("libc", EntryPoint = "rename", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Rename(string oldPath, string newPath);
}
