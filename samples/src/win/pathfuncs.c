/* shlwapi's path helpers on a table of paths (drive, relative, UNC, trailing
 * separators, dots, extensions, blanks), W and A: what each returns and how it
 * changes its buffer. */
#include <windows.h>
#include <shlwapi.h>
#include <stdio.h>

static const char *paths[] = {
    "C:\\dir\\file.txt", "C:\\dir\\", "C:\\", "C:", "file", "file.tar.gz", "dir\\sub\\", "\\root\\x.y",
    "\\\\server\\share\\f.c", "\\\\server\\share", "C:\\a.b\\c", "C:\\dir\\.hidden", "a/b/c.d", "",
    "C:\\a\\.\\b\\..\\c", "C:\\..\\x", "a\\..\\..\\b", ".\\x", "C:\\dir with space\\f x.txt", "x.",
    "\"quoted path\"", "C:\\dir\\file.txt arg1 arg2", "\\", "C:\\a\\b\\\\",
};

static void with_w(const char *a)
{
    WCHAR w[MAX_PATH * 2], buf[MAX_PATH * 2];
    MultiByteToWideChar(CP_ACP, 0, a, -1, w, MAX_PATH);
    wprintf(L"[%ls]\n", w);
    wprintf(L"  FindFileName [%ls] FindExtension [%ls] GetArgs [%ls]\n", PathFindFileNameW(w),
            PathFindExtensionW(w), PathGetArgsW(w));
    wprintf(L"  IsRelative %d IsRoot %d IsUNC %d IsFileSpec %d\n", PathIsRelativeW(w), PathIsRootW(w),
            PathIsUNCW(w), PathIsFileSpecW(w));
    lstrcpyW(buf, w); BOOL r = PathRemoveFileSpecW(buf);
    wprintf(L"  RemoveFileSpec %d [%ls]\n", r, buf);
    lstrcpyW(buf, w); PathStripPathW(buf);
    wprintf(L"  StripPath [%ls]\n", buf);
    lstrcpyW(buf, w); PathRemoveExtensionW(buf);
    wprintf(L"  RemoveExtension [%ls]\n", buf);
    lstrcpyW(buf, w); r = PathRenameExtensionW(buf, L".bak");
    wprintf(L"  RenameExtension %d [%ls]\n", r, buf);
    lstrcpyW(buf, w); r = PathAddExtensionW(buf, L".exe");
    wprintf(L"  AddExtension %d [%ls]\n", r, buf);
    lstrcpyW(buf, w); WCHAR *e = PathAddBackslashW(buf);
    wprintf(L"  AddBackslash [%ls] end %d\n", buf, e ? (int)(e - buf) : -1);
    lstrcpyW(buf, w); e = PathRemoveBackslashW(buf);
    wprintf(L"  RemoveBackslash [%ls] at %d\n", buf, e ? (int)(e - buf) : -1);
    lstrcpyW(buf, w); r = PathAppendW(buf, L"more\\name.x");
    wprintf(L"  Append %d [%ls]\n", r, buf);
    lstrcpyW(buf, L"base\\dir"); r = PathAppendW(buf, w);
    wprintf(L"  Append to base %d [%ls]\n", r, buf);
    e = PathCombineW(buf, L"C:\\base\\dir", w);
    wprintf(L"  Combine [%ls]\n", e ? buf : L"(NULL)");
    r = PathCanonicalizeW(buf, w);
    wprintf(L"  Canonicalize %d [%ls]\n", r, buf);
    lstrcpyW(buf, w); r = PathStripToRootW(buf);
    wprintf(L"  StripToRoot %d [%ls]\n", r, buf);
    lstrcpyW(buf, w); PathUnquoteSpacesW(buf);
    wprintf(L"  UnquoteSpaces [%ls]", buf);
    lstrcpyW(buf, w); PathQuoteSpacesW(buf);
    wprintf(L" QuoteSpaces [%ls]\n", buf);
}

static void with_a(const char *a)
{
    char buf[MAX_PATH * 2];
    printf("A [%s] FindFileName [%s] FindExtension [%s]", a, PathFindFileNameA(a), PathFindExtensionA(a));
    lstrcpyA(buf, a); PathRemoveFileSpecA(buf);
    printf(" RemoveFileSpec [%s]", buf);
    char *e = PathCombineA(buf, "C:\\base", a);
    printf(" Combine [%s]", e ? buf : "(NULL)");
    lstrcpyA(buf, a); PathAppendA(buf, "z");
    printf(" Append [%s]\n", buf);
}

int main(void)
{
    for (unsigned i = 0; i < sizeof paths / sizeof paths[0]; i++)
        with_w(paths[i]);
    for (unsigned i = 0; i < sizeof paths / sizeof paths[0]; i++)
        with_a(paths[i]);
    CreateDirectoryA("pf_dir", NULL);
    CloseHandle(CreateFileA("pf_file.txt", GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL));
    printf("FileExists: file %d dir %d none %d; IsDirectory: file %d dir %d none %d\n",
           PathFileExistsA("pf_file.txt"), PathFileExistsW(L"PF_DIR"), PathFileExistsA("pf_none"),
           PathIsDirectoryA("pf_file.txt") != 0, PathIsDirectoryW(L"pf_dir") != 0, PathIsDirectoryA("pf_none") != 0);
    DeleteFileA("pf_file.txt");
    RemoveDirectoryA("pf_dir");
    return 0;
}
