// Edgeloop's Azure side: data storage, the global store (Cosmos DB), the insights topic
// (Service Bus), the cloud Function App with its managed identity and role assignments,
// telemetry, and Key Vault for the cloud secrets. Deploy per environment:
//   az deployment group create -g <resource-group> -f infra/bicep/main.bicep \
//     -p infra/bicep/env/dev.bicepparam
// Names of containers, topic and subscriptions follow docs/CONTRACTS.md.

targetScope = 'resourceGroup'

@description('Environment name, part of every resource name.')
@allowed([
  'dev'
  'prod'
])
param environmentName string

@description('Azure region of every resource.')
param location string = resourceGroup().location

@description('Lowercase letters, part of every resource name.')
@minLength(3)
@maxLength(8)
param namePrefix string = 'edgeloop'

@description('Default time to live of the Cosmos DB container, in seconds. -1 turns TTL on without a default, so only documents that carry their own ttl expire: the app stamps insights with COSMOS_TTL_SECONDS and keeps its hourly counters.')
@minValue(-1)
param cosmosDefaultTtlSeconds int = -1

@description('How long insight documents live in Cosmos DB, in seconds (app setting COSMOS_TTL_SECONDS).')
@minValue(1)
param insightTtlSeconds int

@description('Autoscale ceiling of the Cosmos DB container, in RU/s.')
@minValue(1000)
param cosmosMaxThroughput int = 1000

@description('Zone redundancy for Cosmos DB (regions with availability zones only).')
param zoneRedundant bool = false

@description('Replication of the data storage account.')
param dataStorageSku string = 'Standard_LRS'

@description('Days a deleted blob or container can be restored.')
@minValue(1)
@maxValue(365)
param deleteRetentionDays int = 7

@description('How long Service Bus remembers message ids for duplicate detection (ISO 8601, at most P7D).')
param duplicateDetectionWindow string = 'P1D'

@description('Deliveries before a topic message is dead-lettered.')
@minValue(1)
param maxDeliveryCount int = 10

@description('Most Function App instances.')
@minValue(1)
@maxValue(1000)
param functionMaximumInstanceCount int = 40

@description('Days Log Analytics keeps data.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 30

@description('Power BI: workspace (group) id the feed pushes to.')
param powerBiGroupId string

@description('Power BI: push dataset id (`edgeloop powerbi dataset create` prints it).')
param powerBiDatasetId string

@description('Power BI: client (application) id of the service principal.')
param powerBiClientId string

@description('Global dashboard: the audience (Application ID URI or client id) of the Entra ID app registration its tokens are issued for.')
param dashboardAudience string

@description('Global dashboard: client id of the Entra ID app registration browsers sign in with (redirect URI https://<app>/auth/callback, app roles reader and admin).')
param dashboardClientId string

@description('When the retraining timer fires: NCRONTAB, six fields, UTC (app setting RETRAIN_SCHEDULE).')
param retrainSchedule string = '0 0 2 * * *'

@description('The sites\' Ed25519 public keys, site id to a list of base64 keys (`edgeloop models site-keygen`), two for a site during a key rotation: the cloud reads a site\'s blobs only when one of its keys signed them. {} trusts no site yet.')
param sitePublicKeys object

@description('Tags for every resource.')
param tags object = {}

// Key Vault secret names; their values are set out of band (docs/deployment.md).
var powerBiClientSecretName = 'powerbi-client-secret'
var modelSigningKeySecretName = 'model-signing-private-key'
var dashboardClientSecretName = 'dashboard-client-secret'
var dashboardSessionKeySecretName = 'dashboard-session-key'

var suffix = uniqueString(resourceGroup().id, environmentName)
var baseName = '${namePrefix}-${environmentName}'
var allTags = union(tags, {
  application: 'edgeloop'
  environment: environmentName
})

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    location: location
    workspaceName: 'log-${baseName}-${suffix}'
    appInsightsName: 'appi-${baseName}-${suffix}'
    retentionInDays: logRetentionDays
    tags: allTags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    location: location
    hostAccountName: take('st${namePrefix}fn${suffix}', 24)
    dataAccountName: take('st${namePrefix}data${suffix}', 24)
    dataContainers: [
      'compliant'
      'anomalies'
      'models'
      'frames'
    ]
    dataQueues: [
      'retrain-requests'
    ]
    deploymentContainerName: 'app-package'
    dataSkuName: dataStorageSku
    deleteRetentionDays: deleteRetentionDays
    tags: allTags
  }
}

module cosmos 'modules/cosmos.bicep' = {
  name: 'cosmos'
  params: {
    location: location
    accountName: 'cosmos-${baseName}-${suffix}'
    databaseName: 'edgeloop'
    containerName: 'insights'
    defaultTtlSeconds: cosmosDefaultTtlSeconds
    maxThroughput: cosmosMaxThroughput
    zoneRedundant: zoneRedundant
    tags: allTags
  }
}

module serviceBus 'modules/servicebus.bicep' = {
  name: 'servicebus'
  params: {
    location: location
    namespaceName: 'sb-${baseName}-${suffix}'
    topicName: 'insights'
    subscriptionNames: [
      'global'
      'powerbi'
      'lake'
    ]
    duplicateDetectionWindow: duplicateDetectionWindow
    maxDeliveryCount: maxDeliveryCount
    tags: allTags
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    location: location
    vaultName: take('kv-${namePrefix}-${environmentName}-${suffix}', 24)
    tags: allTags
  }
}

// The application's settings (docs/CONTRACTS.md names). Connections are identity-based
// (`<connection>__blobServiceUri`, `<connection>__fullyQualifiedNamespace`): no keys.
// Secrets are Key Vault references that the platform resolves with the app's identity.
// tests/infra/test_consistency.py checks that every name is read by the code and that the
// cloud role's settings classes and binding expressions (%NAME%) find what they need here.
var appSettings = {
  EDGELOOP_ROLE: 'cloud'
  // Data account: blobs (compliant, anomalies, models) and the queue retrain-requests (the
  // queue-triggered run_retraining uses connection CloudStorage too).
  CloudStorage__blobServiceUri: storage.outputs.dataBlobEndpoint
  CloudStorage__queueServiceUri: storage.outputs.dataQueueEndpoint
  ServiceBusConnection__fullyQualifiedNamespace: serviceBus.outputs.fullyQualifiedNamespace
  CLOUD_STORE: 'cosmos'
  // No COSMOS_KEY: the app authenticates with its identity (sqlRoleAssignments, roles.bicep).
  COSMOS_ENDPOINT: cosmos.outputs.endpoint
  COSMOS_DATABASE: cosmos.outputs.databaseName
  COSMOS_CONTAINER: cosmos.outputs.containerName
  COSMOS_TTL_SECONDS: string(insightTtlSeconds)
  // The global dashboard (function global_app): the API takes Entra ID bearer tokens; browsers
  // sign in with OpenID Connect (code flow + PKCE) as client dashboardClientId.
  GLOBAL_APP_AUTH: 'entra'
  ENTRA_TENANT_ID: tenant().tenantId
  ENTRA_AUDIENCE: dashboardAudience
  ENTRA_CLIENT_ID: dashboardClientId
  ENTRA_CLIENT_SECRET: '@Microsoft.KeyVault(VaultName=${keyVault.outputs.vaultName};SecretName=${dashboardClientSecretName})'
  GLOBAL_APP_SESSION_KEY: '@Microsoft.KeyVault(VaultName=${keyVault.outputs.vaultName};SecretName=${dashboardSessionKeySecretName})'
  POWERBI_MODE: 'service'
  POWERBI_TENANT_ID: tenant().tenantId
  POWERBI_CLIENT_ID: powerBiClientId
  POWERBI_GROUP_ID: powerBiGroupId
  POWERBI_DATASET_ID: powerBiDatasetId
  POWERBI_CLIENT_SECRET: '@Microsoft.KeyVault(VaultName=${keyVault.outputs.vaultName};SecretName=${powerBiClientSecretName})'
  // Retraining: the timer's schedule (the host resolves %RETRAIN_SCHEDULE%: no default there),
  // and the key that signs model bundles (base64 of the raw Ed25519 key, `edgeloop models keygen`).
  RETRAIN_SCHEDULE: retrainSchedule
  MODEL_SIGNING_PRIVATE_KEY: '@Microsoft.KeyVault(VaultName=${keyVault.outputs.vaultName};SecretName=${modelSigningKeySecretName})'
  // Every reader of what sites write (ingest, Power BI, lake, retraining) checks the site's
  // signature against these keys (public: an app setting, not a secret).
  EDGELOOP_SITE_PUBLIC_KEYS: string(sitePublicKeys)
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  params: {
    location: location
    planName: 'asp-${baseName}-${suffix}'
    appName: 'func-${baseName}-${suffix}'
    hostStorageAccountName: storage.outputs.hostAccountName
    deploymentContainerName: 'app-package'
    appInsightsConnectionString: monitoring.outputs.appInsightsConnectionString
    maximumInstanceCount: functionMaximumInstanceCount
    instanceMemoryMB: 2048
    zoneRedundant: zoneRedundant
    appSettings: appSettings
    tags: allTags
  }
}

module roles 'modules/roles.bicep' = {
  name: 'roles'
  params: {
    principalId: functionApp.outputs.principalId
    hostStorageAccountName: storage.outputs.hostAccountName
    dataStorageAccountName: storage.outputs.dataAccountName
    serviceBusNamespaceName: serviceBus.outputs.namespaceName
    cosmosAccountName: cosmos.outputs.accountName
    keyVaultName: keyVault.outputs.vaultName
    appInsightsName: monitoring.outputs.appInsightsName
  }
}

// What the app, the sites' secrets and the operators need next (no secret values).
output functionAppName string = functionApp.outputs.appName
output functionAppPrincipalId string = functionApp.outputs.principalId
output dashboardUrl string = 'https://${functionApp.outputs.defaultHostName}/'
output dataStorageAccountName string = storage.outputs.dataAccountName
// What a site gets is issued from these outputs, never by the template (a SAS in an output would
// sit in the deployment history): a create-only SAS on `compliant` and on `anomalies`
// (az storage container generate-sas --name <container> --permissions c --https-only), a read/list
// SAS on `models`, optionally create/write on `frames`, and the topic's `site-send` rule
// (siteSendRuleName). docs/deployment.md, "What a site may do in the cloud".
output dataBlobEndpoint string = storage.outputs.dataBlobEndpoint
output dataContainers array = storage.outputs.dataContainerNames
output dataQueues array = storage.outputs.dataQueueNames
output serviceBusNamespace string = serviceBus.outputs.fullyQualifiedNamespace
output insightsTopic string = serviceBus.outputs.topicName
output topicSubscriptions array = serviceBus.outputs.subscriptionNames
output siteSendRuleName string = serviceBus.outputs.siteSendRuleName
output cosmosEndpoint string = cosmos.outputs.endpoint
output cosmosDatabase string = cosmos.outputs.databaseName
output cosmosContainer string = cosmos.outputs.containerName
output keyVaultName string = keyVault.outputs.vaultName
output keyVaultUri string = keyVault.outputs.vaultUri
output powerBiClientSecretName string = powerBiClientSecretName
output modelSigningKeySecretName string = modelSigningKeySecretName
output dashboardClientSecretName string = dashboardClientSecretName
output dashboardSessionKeySecretName string = dashboardSessionKeySecretName
