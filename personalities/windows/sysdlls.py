"""The DLLs that come with Windows itself (System32 of a fresh installation).

A program may import one that guise does not emulate and still start: on
Windows the file is there, so the loader is satisfied, and under guise the
imports stop with "not implemented" only if the program calls them.  Any other
DLL is the program's own: it must be found on the search path, or the program
does not start (Windows: STATUS_DLL_NOT_FOUND).  API-set names (``api-ms-*``,
``ext-ms-*``) always resolve on Windows.  The Visual C++ runtimes
(msvcp140, vcruntime140, ...) are not here: programs ship them.
"""
from __future__ import annotations

SYSTEM_DLLS = frozenset("""
activeds advapi32 advpack apphelp atl authz avicap32 avifil32 avrt bcrypt bcryptprimitives cabinet
cfgmgr32 clbcatq clusapi combase comctl32 comdlg32 compstui credui crypt32 cryptbase cryptdll
cryptnet cryptsp cryptui d2d1 d3d10 d3d10_1 d3d11 d3d12 d3d9 d3dcompiler_47 davclnt dbgeng dbghelp
dciman32 ddraw devobj dhcpcsvc dinput dinput8 dnsapi dpapi dsound dsrole dwmapi dwrite dxgi dxva2
esent evr faultrep fltlib fwpuclnt gdi32 gdiplus glu32 hhctrl.ocx hid hlink httpapi icmp imagehlp
imm32 inetmib1 iphlpapi kernel32 kernelbase ktmw32 linkinfo loadperf lz32 mapi32 mf mfplat
mfreadwrite mlang mpr mprapi msacm32 msasn1 mscms mscoree msctf msdmo msftedit mshtml msi msimg32
msv1_0 msvcrt msvfw32 mswsock ncrypt netapi32 newdev normaliz ntdll ntdsapi ntmarta odbc32 ole32
oleacc oleaut32 oledlg olepro32 opengl32 pdh powrprof profapi propsys psapi query rasapi32
resutils riched20 riched32 rpcrt4 rstrtmgr samlib sapi sechost secur32 sensapi setupapi sfc
shcore shdocvw shell32 shfolder shlwapi slc snmpapi spoolss srvcli sspicli sxs t2embed tapi32
traffic twain_32 ucrtbase uiautomationcore urlmon user32 userenv usp10 uxtheme version
vssapi wbemcomn webservices wer wevtapi windowscodecs winhttp wininet winmm winscard winspool.drv
wintrust winusb wlanapi wldap32 wmvcore ws2_32 wscapi wsnmp32 wsock32 wtsapi32 xinput1_3 xinput1_4
win32u xinput9_1_0 xmllite ieframe
""".split())

API_SET_PREFIXES = ("api-ms-", "ext-ms-")


def is_system_dll(name: str) -> bool:
    """True for a DLL every Windows has; ``name`` is an import's name, any case."""
    name = name.replace("/", "\\").rsplit("\\", 1)[-1].lower()
    if name.startswith(API_SET_PREFIXES):
        return True
    base = name[:-4] if name.endswith(".dll") else name
    return base in SYSTEM_DLLS or name in SYSTEM_DLLS
