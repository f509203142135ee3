; Inno Setup 6 script for the Windows installer of ResNet Desktop. NOT TESTED here (built on Linux).
; 1. On Windows, in the project's venv: pip install -e .[package]
;    python packaging\build.py --no-deb        -> dist\resnet-desktop\resnet-desktop.exe
; 2. iscc /DAppVersion=0.1.0 packaging\resnet-desktop.iss   -> dist\resnet-desktop-0.1.0-setup.exe
#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif

[Setup]
AppId={{7D3B1C55-6C0E-4B8E-9A51-2D1F3E0C9A11}
AppName=ResNet Desktop
AppVersion={#AppVersion}
AppPublisher=ResNet Desktop developers
DefaultDirName={autopf}\ResNet Desktop
DefaultGroupName=ResNet Desktop
DisableProgramGroupPage=yes
OutputDir=..\dist
OutputBaseFilename=resnet-desktop-{#AppVersion}-setup
SetupIconFile=..\assets\icons\resnet-desktop.ico
UninstallDisplayIcon={app}\resnet-desktop.exe
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
; The CUDA libraries make the app larger than a single 2 GB setup file allows.
DiskSpanning=yes
Compression=lzma2/fast
SolidCompression=no
PrivilegesRequiredOverridesAllowed=dialog

[Tasks]
Name: desktopicon; Description: "Create a desktop icon"; Flags: unchecked

[Files]
Source: "..\dist\resnet-desktop\*"; DestDir: "{app}"; Flags: recursesubdirs createallsubdirs ignoreversion

[Icons]
Name: "{group}\ResNet Desktop"; Filename: "{app}\resnet-desktop.exe"
Name: "{autodesktop}\ResNet Desktop"; Filename: "{app}\resnet-desktop.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\resnet-desktop.exe"; Description: "Start ResNet Desktop"; Flags: nowait postinstall skipifsilent
