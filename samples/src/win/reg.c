/* The registry through advapi32, A and W: a key of its own under HKCU
 * (Software\GuiseRegTest\<argv[1]>), values of every common type written and
 * read back (sizes, ERROR_MORE_DATA, ANSI conversions), enumeration of keys and
 * values, RegGetValue's type filter and expansion (of %GUISE_REG%), deletion; and a key every
 * Windows has.  `reg check NAME` only reads what an earlier `reg keep NAME` left. */
#include <stdio.h>
#include <string.h>
#include <windows.h>

static char base[200];

static void show(const char *what, LONG rc) { printf("%s: %ld\n", what, rc); }

static int check(void)
{
    HKEY k;
    DWORD type, n = 0, size = sizeof n;
    LONG rc = RegOpenKeyExA(HKEY_CURRENT_USER, base, 0, KEY_READ, &k);
    show("open kept key", rc);
    if (rc)
        return 1;
    rc = RegQueryValueExA(k, "kept", NULL, &type, (BYTE *)&n, &size);
    printf("kept: rc %ld type %lu value %lu\n", rc, type, n);
    RegCloseKey(k);
    show("delete tree", RegDeleteTreeA(HKEY_CURRENT_USER, base));
    show("open after delete", RegOpenKeyExA(HKEY_CURRENT_USER, base, 0, KEY_READ, &k));
    return 0;
}

int main(int argc, char **argv)
{
    HKEY k, sub;
    DWORD disp, type, size, n, i;
    char buf[256];
    wchar_t wbuf[256];
    const char *name = argc > 2 ? argv[2] : "default";
    snprintf(base, sizeof base, "Software\\GuiseRegTest\\%s", name);
    if (argc > 1 && !strcmp(argv[1], "check"))
        return check();

    show("create", RegCreateKeyExA(HKEY_CURRENT_USER, base, 0, NULL, 0, KEY_ALL_ACCESS, NULL, &k, &disp));
    printf("disposition: %s\n", disp == REG_CREATED_NEW_KEY ? "created" : "opened");
    show("set sz", RegSetValueExA(k, "text", 0, REG_SZ, (const BYTE *)"caf\xe9", 5));
    n = 0x12345678;
    show("set dword", RegSetValueExA(k, "number", 0, REG_DWORD, (const BYTE *)&n, 4));
    show("set multi", RegSetValueExW(k, L"list", 0, REG_MULTI_SZ, (const BYTE *)L"one\0two\0", 18));
    show("set binary", RegSetValueExA(k, "blob", 0, REG_BINARY, (const BYTE *)"\x01\x02\xff", 3));
    show("set expand", RegSetValueExA(k, "where", 0, REG_EXPAND_SZ, (const BYTE *)"%GUISE_REG%\\x", 14));
    show("set default", RegSetValueExW(k, NULL, 0, REG_SZ, (const BYTE *)L"dflt", 10));
    show("create sub b", RegCreateKeyExW(k, L"bsub", 0, NULL, 0, KEY_ALL_ACCESS, NULL, &sub, NULL));
    RegCloseKey(sub);
    show("create sub A", RegCreateKeyExW(k, L"Asub", 0, NULL, 0, KEY_ALL_ACCESS, NULL, &sub, &disp));
    RegCloseKey(sub);
    RegCreateKeyExW(k, L"asub", 0, NULL, 0, KEY_ALL_ACCESS, NULL, &sub, &disp);
    printf("asub again: %s\n", disp == REG_OPENED_EXISTING_KEY ? "opened" : "created");
    RegCloseKey(sub);

    size = 0;
    LONG rc = RegQueryValueExA(k, "text", NULL, &type, NULL, &size);
    printf("size query A: rc %ld type %lu size %lu\n", rc, type, size);
    size = 0;
    rc = RegQueryValueExW(k, L"text", NULL, &type, NULL, &size);
    printf("size query W: rc %ld size %lu\n", rc, size);
    size = 2;
    rc = RegQueryValueExA(k, "text", NULL, NULL, (BYTE *)buf, &size);
    printf("small buffer: rc %ld size %lu\n", rc, size);
    size = sizeof wbuf;
    rc = RegQueryValueExW(k, L"TEXT", NULL, &type, (BYTE *)wbuf, &size);
    printf("W text: rc %ld, U+%04X at the end, %lu bytes\n", rc, wbuf[3], size);
    size = sizeof n;
    RegQueryValueExA(k, "number", NULL, &type, (BYTE *)&n, &size);
    printf("number: type %lu value %#lx\n", type, n);
    size = sizeof buf;
    RegQueryValueExA(k, "list", NULL, &type, (BYTE *)buf, &size);
    printf("list: type %lu size %lu, %s + %s\n", type, size, buf, buf + 4);
    size = sizeof buf;
    RegQueryValueExA(k, "", NULL, &type, (BYTE *)buf, &size);
    printf("default: %s\n", buf);
    show("missing value", RegQueryValueExA(k, "nope", NULL, NULL, NULL, NULL));

    size = sizeof buf;
    rc = RegGetValueA(HKEY_CURRENT_USER, base, "where", RRF_RT_REG_SZ, &type, buf, &size);
    printf("RegGetValue expanded: rc %ld type %lu %s\n", rc, type, buf);
    size = sizeof buf;
    rc = RegGetValueA(HKEY_CURRENT_USER, base, "where", RRF_RT_ANY | RRF_NOEXPAND, &type, buf, &size);
    printf("RegGetValue not expanded: rc %ld type %lu %s\n", rc, type, buf);
    size = sizeof n;
    rc = RegGetValueA(k, NULL, "text", RRF_RT_REG_DWORD, &type, &n, &size);
    printf("RegGetValue wrong type: rc %ld\n", rc);
    size = sizeof n;
    rc = RegGetValueW(k, NULL, L"number", RRF_RT_DWORD, NULL, &n, &size);
    printf("RegGetValueW dword: rc %ld %#lx\n", rc, n);

    for (i = 0;; i++) {
        wchar_t kname[64];
        DWORD len = 64;
        rc = RegEnumKeyExW(k, i, kname, &len, NULL, NULL, NULL, NULL);
        if (rc) {
            printf("keys end: %ld\n", rc);
            break;
        }
        printf("key %lu: %ls (%lu)\n", i, kname, len);
    }
    for (i = 0;; i++) {
        char vname[64];
        DWORD len = sizeof vname;
        size = sizeof buf;
        rc = RegEnumValueA(k, i, vname, &len, NULL, &type, (BYTE *)buf, &size);
        if (rc) {
            printf("values end: %ld\n", rc);
            break;
        }
        printf("value %lu: \"%s\" type %lu size %lu\n", i, vname, type, size);
    }
    DWORD nsub, nval, maxname;
    rc = RegQueryInfoKeyW(k, NULL, NULL, NULL, &nsub, NULL, NULL, &nval, &maxname, NULL, NULL, NULL);
    printf("info: rc %ld, %lu subkeys, %lu values, longest name %lu\n", rc, nsub, nval, maxname);

    show("delete value", RegDeleteValueW(k, L"blob"));
    show("delete it again", RegDeleteValueW(k, L"blob"));
    show("delete key with subkeys", RegDeleteKeyA(HKEY_CURRENT_USER, base));
    show("delete sub", RegDeleteKeyW(k, L"bsub"));
    show("close", RegCloseKey(k));
    show("close again", RegCloseKey(k));

    show("open Windows NT\\CurrentVersion",
         RegOpenKeyExW(HKEY_LOCAL_MACHINE, L"Software\\Microsoft\\Windows NT\\CurrentVersion", 0, KEY_READ, &k));
    size = sizeof wbuf;
    rc = RegQueryValueExW(k, L"CurrentVersion", NULL, &type, (BYTE *)wbuf, &size);
    printf("CurrentVersion: rc %ld, type %lu\n", rc, type);
    RegCloseKey(k);
    show("open missing key", RegOpenKeyExA(HKEY_LOCAL_MACHINE, "Software\\No\\Such\\Key", 0, KEY_READ, &k));

    if (argc > 1 && !strcmp(argv[1], "keep")) {
        RegCreateKeyExA(HKEY_CURRENT_USER, base, 0, NULL, 0, KEY_ALL_ACCESS, NULL, &k, NULL);
        n = 77;
        show("keep", RegSetValueExA(k, "kept", 0, REG_DWORD, (const BYTE *)&n, 4));
        RegCloseKey(k);
    } else {
        show("delete tree", RegDeleteTreeA(HKEY_CURRENT_USER, base));
    }
    return 0;
}
