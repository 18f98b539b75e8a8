# 伺服器產生的頁面文字（臺灣正體中文）。
#
# The ids are the same as in ../en/main.ftl; a test of the oauth-http crate
# checks that both files hold the same ids. Use Taiwan usage (登入、應用程式、
# 帳號、授權), not Simplified Chinese. Messages are plain text.

## 每個頁面的框架

skip-to-content = 跳到頁面內容
language-switch = 語言
page-footer = Loopwise Connect 不會把你的密碼交給任何應用程式。

## 登入

login-title = 登入 { $school }
login-intro = 請使用你在 { $school } 的帳號。
login-email = 電子郵件
login-password = 密碼
login-submit = 登入
login-error-expired = 登入表單已逾時，請再試一次。
login-error-throttled = 嘗試次數過多，請稍候一分鐘再試。
login-error-unavailable = 伺服器目前無法讓你登入，請再試一次。
login-error-incorrect = 電子郵件或密碼不正確。

## 選擇學校

picker-title = 選擇學校
picker-intro = { $app } 想要存取你的其中一所學校。要授權哪一所？
picker-hint = 這個應用程式只能存取你選擇的那所學校。

## 授權同意

consent-title = 要允許 { $app } 存取 { $school } 嗎？
consent-application = 應用程式
consent-client-site = 應用程式資料來源
consent-registered-by = 註冊者
consent-registered-school = { $school }
consent-registered-platform = Loopwise（平台應用程式）
consent-registered-self = 應用程式自行註冊，未經 Loopwise 審核
consent-school = 學校
consent-account = 你的帳號
consent-returns-to = 完成後前往
consent-loopback-warning = 這個位址位於你自己的裝置上。只有在你剛剛親自開啟這個應用程式時，才按「允許」。
consent-can = 如果你允許，{ $app } 將可以：
consent-access-read = 僅能檢視
consent-access-write = 可以修改
consent-approve = 允許
consent-deny = 拒絕
consent-deny-explained = 按「拒絕」會帶你回到應用程式，且不授予任何存取權限。你之後也可以在 { $school } 的「已連結的應用程式」頁面撤銷授權。

## 權限群組與權限

scope-group-identity = 關於你
scope-group-courses = 課程
scope-group-students = 學生
scope-group-pages = 頁面
scope-group-enrollments = 報名
scope-group-orders = 訂單
scope-group-admin = 學校管理
scope-group-account = 你的帳號

scope-openid = 以你的 Loopwise 帳號登入
scope-profile = 查看你的姓名
scope-email = 查看你的電子郵件地址
scope-offline_access = 在你離開後仍保有存取權限
scope-courses-read = 檢視學校的課程
scope-courses-write = 建立及修改學校的課程
scope-students-read = 檢視學校的學生
scope-students-write = 修改學校的學生資料
scope-pages-read = 檢視學校的頁面
scope-pages-write = 建立及修改學校的頁面
scope-enrollments-read = 檢視報名紀錄
scope-enrollments-write = 為學生報名及取消報名
scope-orders-read = 檢視訂單
scope-orders-write = 修改訂單
scope-admin-read = 檢視學校的管理設定
scope-admin-write = 修改學校的管理設定
scope-account-read = 檢視你的帳號
scope-account-write = 修改你的帳號

## 無法使用

denied-title = 你無法使用 { $app }
denied-not-school-admin = 這個應用程式只開放給 { $school } 的擁有者與管理者使用。
denied-not-member = 這個應用程式只開放給 { $school } 的成員使用。
denied-not-staff = 這個應用程式只開放給 Loopwise 工作人員使用。
denied-no-school = 你所屬的學校都不允許你授權這個應用程式。
denied-logged-in-as = 你目前以 { $email } 登入。
denied-return = 返回 { $app }

## 已連結的應用程式

connected-title = 已連結的應用程式
connected-intro = 你以 { $email } 允許存取 { $school } 的應用程式。
connected-revoked = 已撤銷存取權限。該應用程式下次連線時就無法再存取。
connected-allowed-on = 允許於 { $date }
connected-revoke = 撤銷 { $app } 的存取權限
connected-none = 目前沒有任何應用程式可以存取。
logout-submit = 登出

## 登出

logout-title = 已登出
logout-message = 你已經登出。
logout-refused-title = 未登出
logout-refused-message = 這個請求並非來自本網站的登出表單。

## 錯誤頁面

error-code = 錯誤代碼
error-close-hint = 你可以關閉這個頁面，回到原本的應用程式。
error-unknown-host-title = 未知的網址
error-unknown-host-message = 這個網址不屬於 Loopwise 上的任何學校。
error-unavailable-title = 暫時無法使用
error-unavailable-message = 伺服器無法完成這個步驟，請稍後再試。
error-try-again-title = 請再試一次
error-login-start-message = 伺服器無法開始登入，請再試一次。
error-request-title = 無法完成這個請求
error-duplicate-parameter = 參數 { $name } 被傳送了不只一次。
error-client-id-missing = 這個請求沒有說明是哪個應用程式提出的（缺少 client_id）。
error-unknown-client = 這裡找不到提出存取請求的應用程式。
error-app-changed = 你在決定時，這個應用程式已被變更或停用，因此沒有核准任何權限。請回到應用程式重新開始。
error-redirect-uri-missing = 這個請求沒有說明完成後要回到哪裡（缺少 redirect_uri）。
error-redirect-uri-not-registered = 要返回的網址並未為這個應用程式註冊。
error-consent-repeated-title = 無法使用這次的授權
error-consent-repeated-message = 授權表單含有重複的欄位。請回到應用程式重新開始。
error-session-ended-title = 你的登入階段已結束
error-session-ended-message = 請回到應用程式重新開始。
error-consent-forged-title = 這次授權並非來自本頁面
error-consent-forged-message = 為了你的安全，沒有授予任何權限。請回到應用程式重新開始。
error-unknown-school-title = 未知的學校
error-unknown-school-message = 你選擇的學校不存在。
error-connected-elsewhere-title = 請在你的學校網址開啟這個頁面
error-connected-elsewhere-message = 已連結的應用程式列在你學校自己的網址上。
error-revoke-title = 沒有撤銷任何權限
error-revoke-not-here = 這裡沒有可以撤銷的項目。
error-revoke-forged = 這個請求並非來自「已連結的應用程式」頁面。
error-revoke-unnamed = 沒有指定要撤銷的應用程式。
error-revoke-not-found = 該存取權限不存在，或不屬於你。
error-admin-elsewhere-title = 請在你的學校網址開啟管理頁面
error-admin-elsewhere-message = 每所學校都在自己的網址上管理。
error-admin-refused-title = 你無法使用管理功能
error-admin-not-school-admin = 只有這所學校的擁有者與管理者可以這麼做。
error-admin-forged = 這個請求並非來自本校的管理頁面。
error-admin-insufficient-scope = 存取權杖缺少 { $scope } 權限。
